"""The same flows against tokensim's own IAM/STS endpoint (``tokensim aws serve``), which — unlike
moto — sends a real QR code and really verifies the MFA codes, and can enforce IAM policies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tokens.aws import (
    AwsApiError,
    AwsOptions,
    AwsSession,
    disable_virtual_mfa,
    enroll_virtual_mfa,
    get_mfa_session,
    session_to_profile,
)
from tokens.awsserver import AwsServer
from tokens.clock import ManualClock
from tokens.policy import load_policy
from tokens.store import DeviceStore
from tokens.virtual import VirtualTOTP

T0 = 1_767_225_600.0 + 7
POLICIES = Path(__file__).parent.parent / "policy" / "data"
Cli = Callable[..., tuple[int, str, str]]


def serve(tmp_path: Path, clock: ManualClock, *policies: Any) -> Iterator[AwsServer]:
    with AwsServer(tmp_path / "aws-serve.sqlite3", clock=clock, policies=list(policies)) as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def server(tmp_path: Path, clock: ManualClock) -> Iterator[AwsServer]:
    yield from serve(tmp_path, clock)


def admin_of(server: AwsServer) -> AwsSession:
    """The account's administrator (the ready line's keys)."""
    a = server.backend.admin
    return AwsSession(AwsOptions(endpoint_url=server.url, max_attempts=1, access_key_id=a.access_key_id,
                                 secret_access_key=a.secret))


def user_keys(server: AwsServer, name: str) -> tuple[str, str]:
    """A user with its own access key and AdministratorAccess (made by the administrator)."""
    admin = admin_of(server)
    admin.iam.call("CreateUser", UserName=name)
    admin.iam.call("AttachUserPolicy", UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = admin.iam.call("CreateAccessKey", UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def user_session(server: AwsServer, name: str) -> AwsSession:
    key, secret = user_keys(server, name)
    return AwsSession(AwsOptions(endpoint_url=server.url, max_attempts=1, access_key_id=key,
                                 secret_access_key=secret))


@pytest.fixture
def aws(server: AwsServer) -> AwsSession:
    """alice's session: she enrolls herself and asks for her own MFA sessions."""
    return user_session(server, "alice")


def test_enroll_qr_required_and_codes_verified(aws: AwsSession, clock: ManualClock) -> None:
    store = DeviceStore()
    result = enroll_virtual_mfa(aws.iam, "alice", store=store, clock=clock)  # qr_check="require"
    assert result.qr_verified
    clock.advance(60)
    creds = get_mfa_session(aws.sts, store.get("alice"), result.serial_number, at=clock.now())
    assert creds.session_token
    # the same code again is a replay, refused by the verifier behind the endpoint
    with pytest.raises(AwsApiError) as e:
        get_mfa_session(aws.sts, store.get("alice"), result.serial_number, at=clock.now())
    assert e.value.code == "AccessDenied"
    clock.advance(30)
    assert get_mfa_session(aws.sts, store.get("alice"), result.serial_number, at=clock.now()).session_token
    gone = disable_virtual_mfa(aws.iam, "alice", store=store)
    assert gone.deactivated and gone.deleted and store.names() == []


def test_a_token_with_another_seed_is_refused(aws: AwsSession, clock: ManualClock) -> None:
    serial = enroll_virtual_mfa(aws.iam, "alice", store=DeviceStore(), clock=clock).serial_number
    clock.advance(60)
    with pytest.raises(AwsApiError) as e:
        session_to_profile(aws.sts, VirtualTOTP(reference=clock), serial, "alice-mfa", at=clock.now())
    assert e.value.code == "AccessDenied" and e.value.operation == "GetSessionToken"


@pytest.fixture
def system_clock_server(tmp_path: Path) -> Iterator[AwsServer]:
    """The CLI runs on the system clock: so does this server's verifier."""
    with AwsServer(tmp_path / "sys.sqlite3") as server:
        yield server


def test_cli_session_waits_for_a_fresh_code_rather_than_replaying(cli: Cli, system_clock_server: AwsServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = system_clock_server.url
    key, secret = user_keys(system_clock_server, "carol")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert cli("aws", "enroll", "--user", "carol", "--endpoint-url", url)[0] == 0
    store = DeviceStore()
    meta = store.meta("carol")["aws"]
    assert meta["last_step"] == store.get("carol").step(meta["enabled_at"])  # the second code's step
    # pretend the next step's code was used too, so "now" is surely too early for a fresh code
    store.update_meta("carol", aws={**meta, "last_step": meta["last_step"] + 1})
    rc, _, err = cli("aws", "session", "--device", "carol", "--env", "--no-wait", "--endpoint-url", url)
    assert rc == 1 and "current code was already used; a fresh one appears in" in err


def test_enforce_mfa_policy_trap_blocks_enrollment(tmp_path: Path, clock: ManualClock,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    broken = load_policy(POLICIES / "broken-missing-enable-mfa-device.json")
    for server in serve(tmp_path, clock, broken):
        admin = admin_of(server)
        admin.iam.call("CreateUser", UserName="alice")
        key = admin.iam.call("CreateAccessKey", UserName="alice")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        alice = AwsSession(AwsOptions(endpoint_url=server.url, max_attempts=1))
        store = DeviceStore()
        with pytest.raises(AwsApiError) as e:
            enroll_virtual_mfa(alice.iam, "alice", store=store, clock=clock)
        assert (e.value.operation, e.value.code) == ("EnableMFADevice", "AccessDenied")
        assert store.names() == []
        # the user may create the device but not delete it without MFA: it stays behind, and says so
        serial = "arn:aws:iam::123456789012:mfa/alice"
        note = f"{serial} could not be deleted again (DeleteVirtualMFADevice failed: AccessDenied"
        assert note in str(e.value)
        left = admin.iam.call("ListVirtualMFADevices", AssignmentStatus="Any")["VirtualMFADevices"]
        assert [d["SerialNumber"] for d in left] == [serial]
        with pytest.raises(AwsApiError) as again:
            enroll_virtual_mfa(alice.iam, "alice", store=store, clock=clock)
        assert again.value.code == "EntityAlreadyExists"


def alice_session(server: AwsServer, monkeypatch: pytest.MonkeyPatch) -> tuple[AwsSession, AwsSession]:
    """(admin, alice): alice signs with her own long-term access key."""
    admin = admin_of(server)
    admin.iam.call("CreateUser", UserName="alice")
    key = admin.iam.call("CreateAccessKey", UserName="alice")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    return admin, AwsSession(AwsOptions(endpoint_url=server.url, max_attempts=1))


def test_aws_documented_policy_enrollment_and_its_leftover_trap(tmp_path: Path, clock: ManualClock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    official = load_policy(POLICIES / "aws-mfa-self-manage-credentials.json")
    for server in serve(tmp_path, clock, official):
        admin, alice = alice_session(server, monkeypatch)
        store = DeviceStore()
        # a token whose clock is an hour off: EnableMFADevice refuses the codes, and under this
        # policy alice (no MFA yet) may not delete the device she just created
        with pytest.raises(AwsApiError) as e:
            enroll_virtual_mfa(alice.iam, "alice", store=store, at=clock.now() - 3600)
        assert e.value.code == "InvalidAuthenticationCode" and "could not be deleted again" in str(e.value)
        assert store.names() == []
        admin.iam.call("DeleteVirtualMFADevice", SerialNumber="arn:aws:iam::123456789012:mfa/alice")
        # with the clock right it works, QR code checked, and the MFA session follows
        result = enroll_virtual_mfa(alice.iam, "alice", store=store, clock=clock)
        assert result.qr_verified
        clock.advance(30)
        creds = get_mfa_session(alice.sts, store.get("alice"), result.serial_number, at=clock.now())
        assert creds.session_token


def test_device_session_waits_on_the_test_clock_for_a_fresh_code(server: AwsServer, clock: ManualClock,
                                                                  aws_env: Path) -> None:
    from tokens.aws import CodeAlreadyUsedError, device_session

    aws = user_session(server, "erin")
    store = DeviceStore()
    enroll_virtual_mfa(aws.iam, "erin", store=store, clock=clock)
    with pytest.raises(CodeAlreadyUsedError) as e:  # the second enable code is the current one
        device_session(aws.sts, store, "erin", at=clock.now())
    assert 0 < e.value.wait <= 30
    waited: list[float] = []

    def wait(seconds: float) -> None:
        waited.append(seconds)
        clock.advance(seconds)

    creds = device_session(aws.sts, store, "erin", at=clock.now(), write_profile="erin-mfa", wait=wait)
    assert waited == [pytest.approx(e.value.wait, abs=0.01)] and not creds.reused
    assert store.meta("erin")["aws"]["last_step"] == store.get("erin").step(clock.now())
    again = device_session(aws.sts, store, "erin", at=clock.now(), write_profile="erin-mfa", wait=wait)
    assert again.reused and len(waited) == 1  # reuse needs no code
