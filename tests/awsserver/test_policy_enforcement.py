"""`aws serve --policy`: enrollment lock-outs and MFA-age rules provable end to end with boto3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokens.awsserver import AwsServer
from tokens.clock import ManualClock
from tokens.otp import decode_secret
from tokens.policy import load_policy, parse_policy
from tokens.virtual import VirtualTOTP

from .conftest import T0, Aws, error_of

DATA = Path(__file__).parent.parent / "policy" / "data"
FRESH_MFA = parse_policy({"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyKeysWithOldMFA", "Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*",
     "Condition": {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}}]}, name="fresh.json")


def served(tmp_path: Path, *policies: Any) -> Iterator[Aws]:
    clock = ManualClock(T0)
    with AwsServer(tmp_path / "p.sqlite3", clock=clock, policies=policies) as server:
        yield Aws(server, clock)


@pytest.fixture
def official(tmp_path: Path) -> Iterator[Aws]:
    yield from served(tmp_path, load_policy(DATA / "fixed-allow-change-password.json"), FRESH_MFA)


@pytest.fixture
def broken(tmp_path: Path) -> Iterator[Aws]:
    yield from served(tmp_path, load_policy(DATA / "broken-missing-enable-mfa-device.json"))


def alice_keys(aws: Aws) -> tuple[Any, Any]:
    aws.iam.create_user(UserName="alice")  # root (unknown keys) is never restricted
    key = aws.iam.create_access_key(UserName="alice")["AccessKey"]
    return (aws.client("iam", key["AccessKeyId"], key["SecretAccessKey"]),
            aws.client("sts", key["AccessKeyId"], key["SecretAccessKey"]))


def test_enrollment_and_mfa_session_under_the_aws_doc_policy(official: Aws) -> None:
    aws = official
    iam, sts = alice_keys(aws)
    vmfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    token = VirtualTOTP(decode_secret(vmfa["Base32StringSeed"].decode()), reference=aws.clock)
    c1, c2 = token.consecutive(2)
    iam.enable_mfa_device(UserName="alice", SerialNumber=vmfa["SerialNumber"], AuthenticationCode1=c1,
                          AuthenticationCode2=c2)
    assert len(iam.list_mfa_devices()["MFADevices"]) == 1
    # a device named after someone else: not this user's to create
    code, msg, status = error_of(lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="bob"))
    assert (code, status) == ("AccessDenied", 403)
    assert msg == ("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
                   "iam:CreateVirtualMFADevice on resource: arn:aws:iam::123456789012:mfa/bob because no "
                   "identity-based policy allows the iam:CreateVirtualMFADevice action")
    # without MFA, anything outside the listed actions is denied
    code, msg, _ = error_of(lambda: iam.create_access_key())
    assert code == "AccessDenied" and "explicit deny" in msg
    # with an MFA session it is allowed ... while the MFA is fresh
    aws.clock.advance(60)
    creds = sts.get_session_token(SerialNumber=vmfa["SerialNumber"], TokenCode=token.code())["Credentials"]
    session_iam = aws.session_client("iam", creds)
    assert session_iam.create_access_key()["AccessKey"]["UserName"] == "alice"
    aws.clock.advance(3601)
    code, msg, _ = error_of(lambda: session_iam.create_access_key())
    assert code == "AccessDenied" and "explicit deny" in msg
    # not granted at all by the policy: implicit deny
    code, msg, _ = error_of(lambda: session_iam.create_user(UserName="eve"))
    assert code == "AccessDenied" and "no identity-based policy allows the iam:CreateUser action" in msg


def test_broken_policy_locks_the_user_out_of_enable(broken: Aws) -> None:
    aws = broken
    iam, _ = alice_keys(aws)
    vmfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    token = VirtualTOTP(decode_secret(vmfa["Base32StringSeed"].decode()), reference=aws.clock)
    c1, c2 = token.consecutive(2)
    code, msg, status = error_of(lambda: iam.enable_mfa_device(
        UserName="alice", SerialNumber=vmfa["SerialNumber"], AuthenticationCode1=c1, AuthenticationCode2=c2))
    assert (code, status) == ("AccessDenied", 403) and "iam:EnableMFADevice" in msg
    # root can still do it for her: the lock-out is the policy's, not the endpoint's
    aws.iam.enable_mfa_device(UserName="alice", SerialNumber=vmfa["SerialNumber"], AuthenticationCode1=c1,
                              AuthenticationCode2=c2)
