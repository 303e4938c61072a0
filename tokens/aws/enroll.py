"""IAM virtual MFA enrollment, as in the AWS tutorial, without the human in the loop.

    CreateVirtualMFADevice ─► Base32StringSeed ─► VirtualTOTP ◄─ (must agree) ─ QRCodePNG, decoded
                           ─► device stored locally under NAME, serial-number ARN in its metadata
                           ─► EnableMFADevice(code at step s-1, code at step s)  — no 30 s wait

If EnableMFADevice is refused, the virtual device is deleted again and nothing is stored.  If the
endpoint stops answering during EnableMFADevice the outcome is unknown, so the local device (the only
copy of the seed) is kept and the error says so.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from ..clock import Clock, SystemClock
from ..errors import InputError
from ..otp import decode_secret
from ..qr import read_qr
from ..store import DeviceStore, check_name
from ..uri import OtpauthURI, parse_otpauth
from ..virtual import VirtualTOTP
from .client import AwsClient
from .errors import AwsApiError, AwsConnectionError, AwsError, QRCodeMismatchError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
META_KEY = "aws"  # DeviceStore metadata key holding the IAM side of a device


class QRCheck(str, Enum):
    """How strictly to check QRCodePNG against Base32StringSeed."""

    REQUIRE = "require"  # decode the QR code; it must carry the same seed (real AWS)
    IF_PNG = "if-png"  # as REQUIRE, but accept bytes that are not a PNG at all (moto sends random bytes)
    SKIP = "skip"


def verify_qr_png(png: bytes, seed: bytes, mode: QRCheck | str = QRCheck.REQUIRE) -> OtpauthURI | None:
    """Decode AWS's QR code and check it against the seed; the parsed URI, or None when not checked."""
    mode = QRCheck(mode)
    if mode is QRCheck.SKIP:
        return None
    if not png.startswith(PNG_SIGNATURE):
        if mode is QRCheck.IF_PNG:
            return None
        raise QRCodeMismatchError("QRCodePNG from the endpoint is not a PNG image (moto sends random "
                                  "bytes: use --qr-check if-png against moto)")
    try:
        uri = parse_otpauth(read_qr(png))
    except InputError as e:
        raise QRCodeMismatchError(f"QRCodePNG cannot be used: {e}") from None
    problems = []
    if uri.type != "totp":
        problems.append(f"type {uri.type}")
    if uri.secret != seed:
        problems.append("a different secret")
    if (uri.algorithm.value, uri.digits, uri.period) != ("SHA1", 6, 30):
        problems.append(f"{uri.algorithm.value}/{uri.digits} digits/{uri.period} s")
    if problems:
        raise QRCodeMismatchError("QRCodePNG disagrees with Base32StringSeed: the QR code has "
                                  + ", ".join(problems))
    return uri


def account_of(arn: str) -> str:
    """The account id in ``arn:aws:iam::123456789012:mfa/NAME`` ('' if not an ARN)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


@dataclass(frozen=True)
class AwsMfaEnrollment:
    """What ``enroll`` did (no secrets)."""

    name: str  # local device name (also the VirtualMFADeviceName)
    user: str
    serial_number: str  # the device's ARN, the SerialNumber of STS calls
    account: str
    enabled_at: float  # reference time the two codes were computed for
    qr_verified: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decode_seed(raw: Any) -> bytes:
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes | bytearray) else str(raw)
    try:
        return decode_secret(text)
    except InputError as e:
        raise AwsError(f"CreateVirtualMFADevice returned an unusable Base32StringSeed: {e}") from None


def enroll_virtual_mfa(iam: AwsClient, user: str, *, store: DeviceStore, name: str | None = None,
                       path: str = "/", qr_check: QRCheck | str = QRCheck.REQUIRE,
                       at: float | None = None, clock: Clock | None = None) -> AwsMfaEnrollment:
    """Create, store and enable a virtual MFA device for IAM ``user``; ``name`` defaults to ``user``.

    The two codes are the device's codes for the step before ``at`` (default: ``clock.now()``) and
    the step at ``at``: what a person submits after typing one code and waiting for the next,
    computed at once.  (Sending the current and the *next* code would claim the token runs one
    step fast, which a verifier that tracks drift takes at its word.)
    """
    name = check_name(name or user)
    if name in store:  # fail before anything is created remotely
        raise InputError(f"a device named {name!r} already exists locally; choose --device-name")
    reference = clock or store.reference or SystemClock()
    t = reference.now() if at is None else float(at)

    created = iam.call("CreateVirtualMFADevice", VirtualMFADeviceName=name, Path=path)
    vmfa = created.get("VirtualMFADevice") or {}
    serial = str(vmfa.get("SerialNumber", ""))
    stored = sent = False
    try:
        seed = _decode_seed(vmfa.get("Base32StringSeed", b""))
        uri = verify_qr_png(bytes(vmfa.get("QRCodePNG") or b""), seed, qr_check)
        account = account_of(serial)
        device = VirtualTOTP(seed, reference=reference, issuer="AWS",
                             account=uri.account if uri and uri.account else f"{name}@{account}")
        meta = {META_KEY: {"serial_number": serial, "user": user, "account": account,
                           "enabled_at": None, "created_at": t}}
        store.add(name, device, meta=meta)
        stored = True
        # the last two codes the token showed: what a person submits after waiting for the second
        code1, code2 = device.last(2, at=t)
        sent = True
        iam.call("EnableMFADevice", UserName=user, SerialNumber=serial,
                 AuthenticationCode1=code1, AuthenticationCode2=code2)
    except BaseException as e:
        if sent and not isinstance(e, AwsApiError):
            # the request may have reached AWS: keep the only copy of the seed
            if isinstance(e, AwsConnectionError):
                raise AwsConnectionError(
                    f"{e}; EnableMFADevice may have taken effect: the seed is kept as local device "
                    f"{name!r} (check 'tokensim aws list', then retry or 'tokensim aws disable')") from None
            raise
        if stored:
            store.remove(name)
        try:
            iam.call("DeleteVirtualMFADevice", SerialNumber=serial)
        except AwsError as gone:
            # e.g. an enforce-MFA policy that does not let a user without MFA delete the device: it
            # stays behind and blocks a retry under the same name (EntityAlreadyExists)
            if isinstance(e, Exception) and e.args:
                e.args = (f"{e}; the new virtual MFA device {serial} could not be deleted again "
                          f"({gone}): delete it or choose another --device-name before retrying",)
        raise
    meta[META_KEY].update(enabled_at=t, last_step=device.step(t))
    store.update_meta(name, **meta)
    return AwsMfaEnrollment(name=name, user=user, serial_number=serial, account=account, enabled_at=t,
                            qr_verified=uri is not None)


def aws_meta(store: DeviceStore, name: str) -> dict[str, Any]:
    """The IAM metadata of a stored device; InputError if it was not enrolled with AWS."""
    meta = store.meta(name).get(META_KEY)
    if not isinstance(meta, dict) or not meta.get("serial_number"):
        raise InputError(f"device {name!r} was not enrolled with 'tokensim aws enroll' "
                         "(no serial number stored; pass --serial-number)")
    return meta


@dataclass(frozen=True)
class AwsMfaRemoval:
    name: str
    user: str
    serial_number: str
    deactivated: bool  # False if the device was not enabled for the user
    deleted: bool  # False if the virtual device no longer existed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def disable_virtual_mfa(iam: AwsClient, name: str, *, store: DeviceStore,
                        user: str | None = None) -> AwsMfaRemoval:
    """DeactivateMFADevice + DeleteVirtualMFADevice, then forget the local device."""
    meta = aws_meta(store, name)
    serial = str(meta["serial_number"])
    user = user or str(meta.get("user") or "")
    if not user:
        raise InputError(f"no IAM user stored for device {name!r}; pass --user")
    deactivated = deleted = True
    try:
        iam.call("DeactivateMFADevice", UserName=user, SerialNumber=serial)
    except AwsApiError as e:
        if e.code != "NoSuchEntity":
            raise
        deactivated = False
    try:
        iam.call("DeleteVirtualMFADevice", SerialNumber=serial)
    except AwsApiError as e:
        if e.code != "NoSuchEntity":
            raise
        deleted = False
    store.remove(name)
    return AwsMfaRemoval(name=name, user=user, serial_number=serial, deactivated=deactivated,
                         deleted=deleted)


def _pages(iam: AwsClient, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = iam.call(operation, **params)
        items.extend(page.get(key) or [])
        if not page.get("IsTruncated") or not page.get("Marker"):
            return items
        params["Marker"] = page["Marker"]


@dataclass(frozen=True)
class AwsMfaDevice:
    serial_number: str
    user: str | None  # None: created but not enabled (unassigned)
    enabled: float | None  # EnableDate as Unix seconds
    local_name: str | None  # the tokensim device holding its seed, if any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_virtual_mfa(iam: AwsClient, *, store: DeviceStore, user: str | None = None) -> list[AwsMfaDevice]:
    """Virtual MFA devices of the account (or the MFA devices of ``user``), joined with the store."""
    local: dict[str, str] = {}
    for n in store.names():
        serial = (store.meta(n).get(META_KEY) or {}).get("serial_number")
        if serial:
            local[str(serial)] = n
    out: list[AwsMfaDevice] = []
    if user:
        for d in _pages(iam, "ListMFADevices", "MFADevices", UserName=user):
            when = d.get("EnableDate")
            out.append(AwsMfaDevice(str(d["SerialNumber"]), str(d.get("UserName") or user),
                                    when.timestamp() if when else None, local.get(str(d["SerialNumber"]))))
    else:
        for d in _pages(iam, "ListVirtualMFADevices", "VirtualMFADevices", AssignmentStatus="Any"):
            owner = (d.get("User") or {}).get("UserName")
            when = d.get("EnableDate")
            out.append(AwsMfaDevice(str(d["SerialNumber"]), str(owner) if owner else None,
                                    when.timestamp() if when else None, local.get(str(d["SerialNumber"]))))
    return sorted(out, key=lambda d: d.serial_number)
