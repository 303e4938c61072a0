"""MFA sessions: STS parameters checked with pyotp, reuse and renewal of profile credentials."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tokens.aws import (
    AwsSession,
    TemporaryCredentials,
    cached_session,
    enroll_virtual_mfa,
    get_mfa_session,
    read_profile,
    session_to_profile,
)
from tokens.errors import InputError
from tokens.otp import encode_secret
from tokens.store import DeviceStore
from tokens.virtual import VirtualHOTP

T = 1_767_225_600.0 + 5
Capture = Callable[[AwsSession, str, str], list[dict[str, Any]]]


@pytest.fixture
def enrolled(aws: AwsSession) -> tuple[DeviceStore, str]:
    aws.iam.call("CreateUser", UserName="alice")
    store = DeviceStore()
    return store, enroll_virtual_mfa(aws.iam, "alice", store=store, at=T, qr_check="if-png").serial_number


def test_get_session_token_sends_serial_and_current_code(aws: AwsSession, enrolled: tuple[DeviceStore, str],
                                                         capture: Capture) -> None:
    store, serial = enrolled
    sent = capture(aws, "sts", "GetSessionToken")
    dev = store.get("alice")
    creds = get_mfa_session(aws.sts, dev, serial, duration=3600, at=T + 90)
    assert sent == [{"DurationSeconds": 3600, "SerialNumber": serial,
                     "TokenCode": pyotp.TOTP(encode_secret(dev.secret)).at(T + 90)}]
    assert creds.access_key_id and creds.secret_access_key and creds.session_token
    assert creds.serial_number == serial and creds.role_arn is None and not creds.reused
    env = creds.to_env()
    assert set(env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                        "AWS_CREDENTIAL_EXPIRATION"}


def test_assume_role_with_mfa(aws: AwsSession, enrolled: tuple[DeviceStore, str], capture: Capture) -> None:
    store, serial = enrolled
    role = "arn:aws:iam::123456789012:role/admin"
    sent = capture(aws, "sts", "AssumeRole")
    dev = store.get("alice")
    creds = get_mfa_session(aws.sts, dev, serial, role_arn=role, role_session_name="qa", at=T)
    assert sent == [{"RoleArn": role, "RoleSessionName": "qa", "DurationSeconds": 3600,
                     "SerialNumber": serial, "TokenCode": pyotp.TOTP(encode_secret(dev.secret)).at(T)}]
    assert creds.role_arn == role and creds.access_key_id.startswith("ASIA")


@pytest.mark.parametrize(("duration", "role"),
                         [(899, None), (129_601, None), (43_201, "arn:aws:iam::1:role/r")])
def test_durations_outside_the_api_range_are_refused_locally(
        aws: AwsSession, enrolled: tuple[DeviceStore, str], capture: Capture, duration: int,
        role: str | None) -> None:
    store, serial = enrolled
    sent = capture(aws, "sts", "GetSessionToken") + capture(aws, "sts", "AssumeRole")
    with pytest.raises(InputError, match="outside"):
        get_mfa_session(aws.sts, store.get("alice"), serial, duration=duration, role_arn=role, at=T)
    assert sent == []


def test_profile_is_reused_until_near_expiry_then_renewed(aws: AwsSession, enrolled: tuple[DeviceStore, str],
                                                          capture: Capture, aws_env: Path) -> None:
    store, serial = enrolled
    calls = capture(aws, "sts", "GetSessionToken")
    dev = store.get("alice")
    first = session_to_profile(aws.sts, dev, serial, "alice-mfa", at=T, duration=900)
    assert stat.S_IMODE(os.stat(aws_env).st_mode) == 0o600
    stored = read_profile("alice-mfa")
    assert stored is not None and stored["tokensim_mfa_serial"] == serial
    assert stored["aws_session_token"] == first.session_token
    # moto's expiration is its own now + duration; reuse is judged at the caller's time
    left = first.expiration
    again = session_to_profile(aws.sts, dev, serial, "alice-mfa", at=left - 301)
    assert again.reused and len(calls) == 1 and again.expiration == pytest.approx(first.expiration, abs=1)
    renewed = session_to_profile(aws.sts, dev, serial, "alice-mfa", at=left - 299)
    assert not renewed.reused and len(calls) == 2
    forced = session_to_profile(aws.sts, dev, serial, "alice-mfa", at=left - 3000, force=True)
    assert not forced.reused and len(calls) == 3


def test_cached_session_only_matches_the_same_device_and_role(aws_env: Path) -> None:
    creds = TemporaryCredentials("ASIA1", "s", "t", T + 3600, "arn:aws:iam::1:mfa/a")
    from tokens.aws import write_profile

    write_profile("p", creds.to_profile())
    assert cached_session("p", "arn:aws:iam::1:mfa/a", at=T) is not None
    assert cached_session("p", "arn:aws:iam::1:mfa/b", at=T) is None
    assert cached_session("p", "arn:aws:iam::1:mfa/a", at=T, role_arn="arn:aws:iam::1:role/r") is None
    assert cached_session("missing", "arn:aws:iam::1:mfa/a", at=T) is None
    write_profile("q", {"aws_access_key_id": "ASIA", "aws_secret_access_key": "x", "aws_session_token": "y"})
    assert cached_session("q", "arn:aws:iam::1:mfa/a", at=T) is None  # not written by tokensim


def test_fresh_code_time_waits_past_the_used_step(totp_factory: Any, mfa_clock: Any) -> None:
    from tokens.aws import fresh_code_time

    token = totp_factory(offset=7.0, drift_ppm=100)  # boundaries fall off the reference's half-minutes
    now = mfa_clock.now()
    step = token.step(now)
    assert fresh_code_time(token, now, None) == now
    assert fresh_code_time(token, now, step - 1) == now
    t = fresh_code_time(token, now, step)
    assert token.step(t) == step + 1 and token.step(t - 0.01) == step and 0 < t - now <= 30
    t2 = fresh_code_time(token, now, step + 1)
    assert token.step(t2) == step + 2 and 30 < t2 - now <= 60
    hotp = VirtualHOTP(b"12345678901234567890")
    assert fresh_code_time(hotp, now, 99) == now  # every HOTP code is new
