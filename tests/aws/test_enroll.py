"""Virtual MFA enrollment against moto server with real boto3, codes checked with pyotp."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from PIL import Image

from tokens.aws import (
    AwsApiError,
    AwsSession,
    QRCodeMismatchError,
    disable_virtual_mfa,
    enroll_virtual_mfa,
    list_virtual_mfa,
    verify_qr_png,
)
from tokens.clock import ManualClock
from tokens.errors import InputError
from tokens.otp import decode_secret
from tokens.store import DeviceStore

from .conftest import ACCOUNT, aws_style_uri, qr_png

T = 1_767_225_600.0 + 17  # 2026-01-01T00:00:17Z, inside a TOTP step

Capture = Callable[[AwsSession, str, str], list[dict[str, Any]]]


def remote_serials(aws: AwsSession) -> list[str]:
    page = aws.iam.call("ListVirtualMFADevices", AssignmentStatus="Any")
    return [d["SerialNumber"] for d in page["VirtualMFADevices"]]


def seed_of(created: list[dict[str, Any]]) -> str:
    return str(created[0]["VirtualMFADevice"]["Base32StringSeed"].decode("ascii"))


@pytest.fixture
def responses(aws: AwsSession) -> list[dict[str, Any]]:
    """The parsed CreateVirtualMFADevice responses (the seed AWS handed out)."""
    seen: list[dict[str, Any]] = []

    def hook(parsed: dict[str, Any], **_: Any) -> None:
        seen.append(parsed)

    aws.iam.raw.meta.events.register("after-call.iam.CreateVirtualMFADevice", hook)
    return seen


def test_enroll_sends_two_consecutive_codes_of_the_seed(aws: AwsSession, aws_qr: Any, capture: Capture,
                                                         responses: list[dict[str, Any]]) -> None:
    aws_qr(aws_style_uri)
    aws.iam.call("CreateUser", UserName="alice")
    sent = capture(aws, "iam", "EnableMFADevice")
    store = DeviceStore()
    result = enroll_virtual_mfa(aws.iam, "alice", store=store, at=T)

    assert result.serial_number == f"arn:aws:iam::{ACCOUNT}:mfa/alice"
    assert result.qr_verified and result.account == ACCOUNT and result.enabled_at == T
    totp = pyotp.TOTP(seed_of(responses))
    assert len(sent) == 1
    assert sent[0]["UserName"] == "alice" and sent[0]["SerialNumber"] == result.serial_number
    # the last two codes shown at T: the previous step's and the current one's
    assert [sent[0]["AuthenticationCode1"], sent[0]["AuthenticationCode2"]] == [totp.at(T - 30), totp.at(T)]
    assert totp.at(T - 30) != totp.at(T)
    # stored locally: same seed, serial number and user in the metadata, label from the QR code
    dev = store.get("alice")
    assert dev.secret == decode_secret(seed_of(responses))
    assert dev.account == f"alice@{ACCOUNT}"
    meta = store.meta("alice")["aws"]
    assert meta["serial_number"] == result.serial_number and meta["user"] == "alice"
    assert meta["enabled_at"] == T
    # and enabled remotely
    mfa = aws.iam.call("ListMFADevices", UserName="alice")["MFADevices"]
    assert [d["SerialNumber"] for d in mfa] == [result.serial_number]


def test_enroll_uses_the_injected_clock(aws: AwsSession, capture: Capture,
                                        responses: list[dict[str, Any]]) -> None:
    aws.iam.call("CreateUser", UserName="bob")
    sent = capture(aws, "iam", "EnableMFADevice")
    clock = ManualClock(T + 3600)
    enroll_virtual_mfa(aws.iam, "bob", store=DeviceStore(), name="bob-phone", qr_check="if-png", clock=clock)
    totp = pyotp.TOTP(seed_of(responses))
    assert sent[0]["AuthenticationCode1"] == totp.at(T + 3570)
    assert sent[0]["AuthenticationCode2"] == totp.at(T + 3600)


def test_qr_code_with_another_secret_is_refused_and_rolled_back(aws: AwsSession, aws_qr: Any) -> None:
    aws_qr(lambda name, account, seed: aws_style_uri(name, account, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"))
    aws.iam.call("CreateUser", UserName="alice")
    store = DeviceStore()
    with pytest.raises(QRCodeMismatchError, match="different secret"):
        enroll_virtual_mfa(aws.iam, "alice", store=store, at=T)
    assert store.names() == [] and remote_serials(aws) == []


def test_moto_random_qr_bytes_need_if_png(aws: AwsSession) -> None:
    aws.iam.call("CreateUser", UserName="alice")
    store = DeviceStore()
    with pytest.raises(QRCodeMismatchError, match=r"not a PNG image.*if-png"):
        enroll_virtual_mfa(aws.iam, "alice", store=store, at=T)
    assert store.names() == [] and remote_serials(aws) == []
    result = enroll_virtual_mfa(aws.iam, "alice", store=store, at=T, qr_check="if-png")
    assert not result.qr_verified and store.names() == ["alice"]


def test_unknown_user_is_no_such_entity_and_leaves_nothing(aws: AwsSession) -> None:
    store = DeviceStore()
    with pytest.raises(AwsApiError) as e:
        enroll_virtual_mfa(aws.iam, "nobody", store=store, at=T, qr_check="if-png")
    assert e.value.code == "NoSuchEntity" and e.value.operation == "EnableMFADevice"
    assert "nobody" in str(e.value) and "\n" not in str(e.value)
    assert store.names() == [] and remote_serials(aws) == []


def test_name_taken_locally_fails_before_any_remote_call(aws: AwsSession, capture: Capture) -> None:
    store = DeviceStore()
    aws.iam.call("CreateUser", UserName="alice")
    enroll_virtual_mfa(aws.iam, "alice", store=store, at=T, qr_check="if-png")
    created = capture(aws, "iam", "CreateVirtualMFADevice")
    with pytest.raises(InputError, match="already exists locally"):
        enroll_virtual_mfa(aws.iam, "alice", store=store, at=T, qr_check="if-png")
    assert created == []


def test_device_already_existing_remotely_is_entity_already_exists(aws: AwsSession) -> None:
    aws.iam.call("CreateUser", UserName="alice")
    enroll_virtual_mfa(aws.iam, "alice", store=DeviceStore(), at=T, qr_check="if-png")
    elsewhere = DeviceStore(DeviceStore().path.with_name("other.json"))
    with pytest.raises(AwsApiError) as e:
        enroll_virtual_mfa(aws.iam, "alice", store=elsewhere, at=T, qr_check="if-png")
    assert e.value.code == "EntityAlreadyExists" and e.value.operation == "CreateVirtualMFADevice"
    assert elsewhere.names() == []
    assert len(remote_serials(aws)) == 1  # the enabled device was not touched


def test_list_joins_remote_devices_with_the_store(aws: AwsSession) -> None:
    store = DeviceStore()
    for user in ("alice", "bob"):
        aws.iam.call("CreateUser", UserName=user)
        enroll_virtual_mfa(aws.iam, user, store=store, at=T, qr_check="if-png")
    aws.iam.call("CreateVirtualMFADevice", VirtualMFADeviceName="spare")
    everything = list_virtual_mfa(aws.iam, store=store)
    assert [(d.user, d.local_name) for d in everything] == [("alice", "alice"), ("bob", "bob"), (None, None)]
    assert everything[0].enabled is not None and everything[2].enabled is None
    bobs = list_virtual_mfa(aws.iam, store=store, user="bob")
    assert [d.serial_number for d in bobs] == [f"arn:aws:iam::{ACCOUNT}:mfa/bob"]


def test_disable_deactivates_deletes_and_forgets(aws: AwsSession) -> None:
    store = DeviceStore()
    aws.iam.call("CreateUser", UserName="alice")
    enroll_virtual_mfa(aws.iam, "alice", store=store, at=T, qr_check="if-png")
    gone = disable_virtual_mfa(aws.iam, "alice", store=store)
    assert (gone.deactivated, gone.deleted, gone.user) == (True, True, "alice")
    assert store.names() == [] and remote_serials(aws) == []
    assert aws.iam.call("ListMFADevices", UserName="alice")["MFADevices"] == []


# ---------------------------------------------------------------- the QR check on its own

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_verify_qr_png_accepts_the_aws_form() -> None:
    uri = verify_qr_png(qr_png(f"otpauth://totp/alice@{ACCOUNT}?secret={SEED}"), decode_secret(SEED))
    assert uri is not None and uri.account == f"alice@{ACCOUNT}"


@pytest.mark.parametrize(("text", "why"), [
    (f"otpauth://totp/alice?secret={SEED}&digits=8", "8 digits"),
    (f"otpauth://totp/alice?secret={SEED}&period=60", "60 s"),
    (f"otpauth://hotp/alice?secret={SEED}&counter=0", "type hotp"),
    ("https://example.com/", "cannot be used"),
])
def test_verify_qr_png_names_what_disagrees(text: str, why: str) -> None:
    with pytest.raises(QRCodeMismatchError, match=why):
        verify_qr_png(qr_png(text), decode_secret(SEED))


def test_verify_qr_png_modes_for_non_qr_input() -> None:
    import io

    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, format="PNG")
    with pytest.raises(QRCodeMismatchError, match="no QR code"):
        verify_qr_png(blank.getvalue(), decode_secret(SEED), "if-png")  # a PNG is always checked
    assert verify_qr_png(b"random bytes", decode_secret(SEED), "if-png") is None
    assert verify_qr_png(b"random bytes", decode_secret(SEED), "skip") is None
    with pytest.raises(QRCodeMismatchError, match="not a PNG"):
        verify_qr_png(b"random bytes", decode_secret(SEED))


def test_connection_lost_during_enable_keeps_the_seed(aws: AwsSession) -> None:
    from botocore.exceptions import EndpointConnectionError

    from tokens.aws import AwsConnectionError

    def cable_pulled(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1/")

    aws.iam.call("CreateUser", UserName="alice")
    aws.iam.raw.meta.events.register("before-send.iam.EnableMFADevice", cable_pulled)
    store = DeviceStore()
    with pytest.raises(AwsConnectionError, match="may have taken effect: the seed is kept as local device"):
        enroll_virtual_mfa(aws.iam, "alice", store=store, at=T, qr_check="if-png")
    # nobody knows whether AWS enabled it: the only copy of the seed must survive
    assert store.names() == ["alice"]
    assert remote_serials(aws) == [store.meta("alice")["aws"]["serial_number"]]
