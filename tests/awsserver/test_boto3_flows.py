"""The real boto3 client against `tokensim aws serve` on loopback: the happy path and every negative path."""

from __future__ import annotations

import httpx
import pyotp
import pytest

from tokens.clock import DriftModel
from tokens.otp import decode_secret
from tokens.policy import Decision, RequestContext, evaluate, parse_policy
from tokens.qr import read_qr
from tokens.uri import parse_otpauth

from .conftest import GET_OWN_USER, T0, Aws, error_of

MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def test_happy_path_enroll_session_identity(aws: Aws) -> None:
    aws.user("alice")
    user = aws.iam.get_user(UserName="alice")["User"]
    assert user["Arn"] == "arn:aws:iam::123456789012:user/alice" and user["UserId"].startswith("AIDA")
    vmfa = aws.iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    serial = vmfa["SerialNumber"]
    assert serial == "arn:aws:iam::123456789012:mfa/alice"
    seed = vmfa["Base32StringSeed"].decode("ascii")
    # the QR code carries the same seed (decoded independently with zxing)
    uri = parse_otpauth(read_qr(vmfa["QRCodePNG"]))
    assert uri.secret == decode_secret(seed) and uri.account.endswith("@123456789012")
    # the codes come from pyotp here: an independent implementation of what the verifier checks
    totp = pyotp.TOTP(seed)
    c1, c2 = totp.at(T0), totp.at(T0 + 30)
    assert aws.iam.enable_mfa_device(UserName="alice", SerialNumber=serial, AuthenticationCode1=c1,
                                     AuthenticationCode2=c2)["ResponseMetadata"]["HTTPStatusCode"] == 200
    devices = aws.iam.list_mfa_devices(UserName="alice")["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in devices] == [("alice", serial)]
    assert devices[0]["EnableDate"].timestamp() == T0
    virtual = aws.iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [(v["SerialNumber"], v["User"]["UserName"]) for v in virtual] == [(serial, "alice")]
    assert aws.iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"] == []

    aws.clock.advance(90)
    creds = aws.sts.get_session_token(SerialNumber=serial, TokenCode=totp.at(aws.clock.now()),
                                      DurationSeconds=3600)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert creds["Expiration"].timestamp() == aws.clock.now() + 3600
    auth_time = aws.clock.now()

    aws.clock.advance(120)
    ident = aws.session_client("sts", creds).get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::123456789012:user/alice" and ident["Account"] == "123456789012"
    headers = ident["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-tokensim-mfa-present"] == "true" and headers["x-tokensim-mfa-age"] == "120"
    assert headers["x-tokensim-mfa-serial"] == serial
    # the same context over the JSON view and as a policy request context
    ctx = httpx.get(f"{aws.server.url}/_tokensim/credentials/{creds['AccessKeyId']}", timeout=5).json()
    assert ctx["present"] is True and ctx["auth_time"] == auth_time and ctx["user"] == "alice"
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "FreshMFA", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
         "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "300"}}}]})
    backend = aws.server.backend
    assert evaluate(policy, backend.request_context(creds["AccessKeyId"], "s3:ListAllMyBuckets")).allowed
    aws.clock.advance(300)
    late = backend.request_context(creds["AccessKeyId"], "s3:ListAllMyBuckets")
    assert late.mfa_age == 420 and evaluate(policy, late).decision is Decision.IMPLICIT_DENY
    assert backend.request_context("testing", "s3:ListAllMyBuckets") == RequestContext.long_term_keys(
        "s3:ListAllMyBuckets")  # long-term keys: no MFA keys at all
    # GetUser with the session: alice has no policy yet (implicit deny), then one that allows it
    code, msg, status = error_of(lambda: aws.session_client("iam", creds).get_user())
    assert (code, status) == (
        "AccessDenied",
        403,
    ) and "because no identity-based policy allows the iam:GetUser" in msg
    aws.put_policy("alice", "self", GET_OWN_USER)
    assert aws.session_client("iam", creds).get_user()["User"]["UserName"] == "alice"


def test_session_without_mfa_and_long_term_identity(aws: Aws) -> None:
    aws.iam.create_user(UserName="bob")
    key = aws.iam.create_access_key(UserName="bob")["AccessKey"]
    bob_sts = aws.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    ident = bob_sts.get_caller_identity()
    assert ident["Arn"].endswith(":user/bob")
    assert ident["ResponseMetadata"]["HTTPHeaders"]["x-tokensim-credentials"] == "long-term"
    creds = bob_sts.get_session_token()["Credentials"]
    assert creds["Expiration"].timestamp() == T0 + 43200  # the default duration
    headers = aws.session_client("sts", creds).get_caller_identity()["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-tokensim-mfa-present"] == "false"
    # the administrator is an IAM user too (no root keys exist): its sessions last as asked
    admin = aws.client("sts").get_session_token(DurationSeconds=7200)["Credentials"]
    assert admin["Expiration"].timestamp() == T0 + 7200
    assert aws.client("sts").get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/admin"


def test_wrong_code_at_enable_then_right_codes(aws: Aws) -> None:
    aws.iam.create_user(UserName="alice")
    serial, token = aws.new_device()
    c1, c2 = token.consecutive(2)
    wrong = f"{(int(c1) + 1) % 1_000_000:06d}"
    code, msg, status = error_of(
        lambda: aws.iam.enable_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1=wrong, AuthenticationCode2=c2
        )
    )
    assert (code, status) == ("InvalidAuthenticationCode", 403)
    assert msg == "Authentication code for device is not valid."
    assert aws.iam.list_mfa_devices(UserName="alice")["MFADevices"] == []  # not assigned by a failure
    aws.iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2
    )
    assert len(aws.iam.list_mfa_devices(UserName="alice")["MFADevices"]) == 1


def test_codes_that_are_not_consecutive(aws: Aws) -> None:
    aws.iam.create_user(UserName="alice")
    serial, token = aws.new_device()
    c = token.consecutive(3)
    for pair in ((c[0], c[2]), (c[1], c[0]), (c[0], c[0])):
        code, _, status = error_of(
            lambda p=pair: aws.iam.enable_mfa_device(  # type: ignore[misc]
                UserName="alice", SerialNumber=serial, AuthenticationCode1=p[0], AuthenticationCode2=p[1]
            )
        )
        assert (code, status) == ("InvalidAuthenticationCode", 403)


def test_wrong_and_replayed_session_codes(aws: Aws) -> None:
    serial, token = aws.enrolled()
    code = token.code()
    wrong = f"{(int(code) + 500_000) % 1_000_000:06d}"
    assert error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=wrong)) == (
        "AccessDenied",
        MFA_FAILED,
        403,
    )
    aws.sts.get_session_token(SerialNumber=serial, TokenCode=code)
    aws.clock.advance(5)  # same TOTP step: the very same code again
    assert error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=code)) == (
        "AccessDenied",
        MFA_FAILED,
        403,
    )
    # an enable code can't be replayed for a session either
    aws.clock.advance(30)
    aws.sts.get_session_token(SerialNumber=serial, TokenCode=token.code())


def test_drifted_device_fails_until_resync(aws: Aws) -> None:
    drift = DriftModel(ppm=1000.0, epoch=T0)  # runs fast by 86.4 s a day
    serial, token = aws.enrolled(drift=drift)
    aws.clock.advance(2 * 86400)  # ~173 s ahead: ~6 steps, outside the ±1-step window
    assert token.device_time(aws.clock.now()) - aws.clock.now() > 150
    assert (
        error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=token.code()))[0]
        == "AccessDenied"
    )
    aws.clock.advance(30)
    c1, c2 = token.consecutive(2)
    aws.iam.resync_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2
    )
    aws.clock.advance(60)
    creds = aws.sts.get_session_token(SerialNumber=serial, TokenCode=token.code())["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    # a resync with garbage is refused
    code, _, status = error_of(
        lambda: aws.iam.resync_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1="000000", AuthenticationCode2="000001"
        )
    )
    assert (code, status) == ("InvalidAuthenticationCode", 403)


def test_throttling_after_repeated_failures(aws: Aws) -> None:
    serial, token = aws.enrolled()
    good = token.code()
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    policy = aws.server.backend.verifier.policy
    for _ in range(policy.throttle_after):
        code, _, _ = error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=bad))
        assert code == "AccessDenied"
    # now even the right code is refused, with the same message: the back-off is not revealed
    assert error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=good)) == (
        "AccessDenied",
        MFA_FAILED,
        403,
    )
    aws.clock.advance(policy.backoff_base + 1)
    aws.sts.get_session_token(SerialNumber=serial, TokenCode=token.code())


@pytest.mark.parametrize("duration", [899, 129601, 0])
def test_duration_out_of_range(aws: Aws, duration: int) -> None:
    sts = aws.client("sts", validate=False)  # botocore itself refuses < 900 before sending
    code, msg, status = error_of(lambda: sts.get_session_token(DurationSeconds=duration))
    assert (code, status) == ("ValidationError", 400)
    assert f"Value '{duration}' at 'durationSeconds'" in msg


@pytest.mark.parametrize("duration", [900, 129600])
def test_duration_bounds_accepted(aws: Aws, duration: int) -> None:
    aws.iam.create_user(UserName="carol")
    key = aws.iam.create_access_key(UserName="carol")["AccessKey"]
    creds = aws.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_session_token(
        DurationSeconds=duration
    )["Credentials"]
    assert creds["Expiration"].timestamp() == T0 + duration


def test_unknown_user_and_device(aws: Aws) -> None:
    aws.iam.create_user(UserName="alice")
    serial, token = aws.new_device()
    c1, c2 = token.consecutive(2)
    code, msg, status = error_of(
        lambda: aws.iam.enable_mfa_device(
            UserName="bob", SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2
        )
    )
    assert (code, status) == ("NoSuchEntity", 404) and "bob" in msg
    ghost = "arn:aws:iam::123456789012:mfa/ghost"
    code, msg, status = error_of(
        lambda: aws.iam.enable_mfa_device(
            UserName="alice", SerialNumber=ghost, AuthenticationCode1=c1, AuthenticationCode2=c2
        )
    )
    assert (code, status) == ("NoSuchEntity", 404) and ghost in msg
    assert error_of(lambda: aws.iam.get_user(UserName="bob"))[0] == "NoSuchEntity"
    assert error_of(lambda: aws.iam.list_mfa_devices(UserName="bob"))[0] == "NoSuchEntity"
    assert error_of(lambda: aws.iam.delete_virtual_mfa_device(SerialNumber=ghost))[0] == "NoSuchEntity"
    # STS does not say whether the device exists
    code, msg, status = error_of(lambda: aws.sts.get_session_token(SerialNumber=ghost, TokenCode=c1))
    assert (code, status) == ("AccessDenied", 403) and msg.startswith("MultiFactorAuthentication failed")
    # a created but never enabled device cannot make sessions
    code, _, _ = error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=c1))
    assert code == "AccessDenied"


def test_already_exists_and_already_enabled(aws: Aws) -> None:
    serial, token = aws.enrolled()
    assert error_of(lambda: aws.iam.create_user(UserName="alice"))[::2] == ("EntityAlreadyExists", 409)
    assert error_of(lambda: aws.iam.create_virtual_mfa_device(VirtualMFADeviceName="alice"))[::2] == (
        "EntityAlreadyExists",
        409,
    )
    aws.iam.create_user(UserName="dave")
    c1, c2 = token.consecutive(2)
    for user in ("alice", "dave"):
        code, msg, status = error_of(
            lambda u=user: aws.iam.enable_mfa_device(  # type: ignore[misc]
                UserName=u, SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2
            )
        )
        assert (code, status, msg) == ("EntityAlreadyExists", 409, "MFA Device is already in use.")


def test_delete_conflict_deactivate_and_reenable(aws: Aws) -> None:
    serial, token = aws.enrolled()
    code, _, status = error_of(lambda: aws.iam.delete_virtual_mfa_device(SerialNumber=serial))
    assert (code, status) == ("DeleteConflict", 409)
    aws.iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
    assert aws.iam.list_mfa_devices(UserName="alice")["MFADevices"] == []
    assert (
        error_of(lambda: aws.sts.get_session_token(SerialNumber=serial, TokenCode=token.code()))[0]
        == "AccessDenied"
    )
    # deactivated devices keep their seed and can be enabled again
    c1, c2 = token.consecutive(2)
    aws.iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2
    )
    aws.iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
    aws.iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert aws.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert (
        error_of(lambda: aws.iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial))[0]
        == "NoSuchEntity"
    )


def test_limit_of_mfa_devices_per_user(aws: Aws) -> None:
    aws.iam.create_user(UserName="alice")
    for i in range(9):
        serial, token = aws.new_device(name=f"alice-{i}")
        c1, c2 = token.consecutive(2)
        call = lambda s=serial, a=c1, b=c2: aws.iam.enable_mfa_device(  # noqa: E731
            UserName="alice", SerialNumber=s, AuthenticationCode1=a, AuthenticationCode2=b
        )
        if i < 8:
            call()
        else:
            code, msg, status = error_of(call)
            assert (code, status) == ("LimitExceeded", 409) and "8" in msg
    assert len(aws.iam.list_mfa_devices(UserName="alice")["MFADevices"]) == 8


def test_session_credentials_rules(aws: Aws) -> None:
    serial, token = aws.enrolled()
    creds = aws.sts.get_session_token(SerialNumber=serial, TokenCode=token.code(), DurationSeconds=900)[
        "Credentials"
    ]
    session_sts = aws.session_client("sts", creds)
    code, msg, status = error_of(lambda: session_sts.get_session_token())
    assert (code, status) == ("AccessDenied", 403) and "session credentials" in msg
    aws.clock.advance(901)
    code, _, status = error_of(lambda: session_sts.get_caller_identity())
    assert (code, status) == ("ExpiredToken", 403)


def test_someone_elses_device_is_refused(aws: Aws) -> None:
    serial, token = aws.enrolled("alice")
    aws.iam.create_user(UserName="mallory")
    key = aws.iam.create_access_key(UserName="mallory")["AccessKey"]
    mallory = aws.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    assert (
        error_of(lambda: mallory.get_session_token(SerialNumber=serial, TokenCode=token.code()))[0]
        == "AccessDenied"
    )


def test_concurrent_replay_only_one_session(aws: Aws) -> None:
    """The same code sent by 6 clients at once: exactly one session (the verifier's compare-and-set)."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    serial, token = aws.enrolled()
    code = token.code()
    clients = [aws.as_user("sts") for _ in range(6)]

    def one(sts: object) -> str:
        try:
            sts.get_session_token(SerialNumber=serial, TokenCode=code)  # type: ignore[attr-defined]
            return "ok"
        except ClientError as e:
            return str(e.response["Error"]["Code"])

    with ThreadPoolExecutor(6) as pool:
        results = sorted(pool.map(one, clients))
    assert results == ["AccessDenied"] * 5 + ["ok"]
