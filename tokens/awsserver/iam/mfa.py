"""Virtual MFA devices: codes are checked by tokensim's verifier (two consecutive codes to enable
or resync, replay refused, throttling and lockout per the verifier policy).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import quote

from ...qr import qr_png_bytes
from ...verifier import Reason
from .. import validate
from ..backend import Backend
from ..errors import (
    AwsApiFault,
    already_exists,
    delete_conflict,
    invalid_code,
    limit_exceeded,
    no_such_device,
)
from ..principal import Principal
from ..query import QueryRequest, Timestamp
from ..records import MfaDeviceRecord
from .common import Handler, Result, page, user, user_or_caller, user_record

MAX_MFA_PER_USER = 8  # AWS quota MFADevicesPerUser
ISSUER = "Amazon Web Services"


def _device(b: Backend, serial: str) -> MfaDeviceRecord:
    d = b.state.devices.get(serial=serial)
    if d is None:
        raise no_such_device(serial)
    return d


def create_virtual_mfa_device(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    name = validate.name(req, "VirtualMFADeviceName", 226)
    path = validate.path(req)
    serial = b.mfa_arn(path, name)
    secret = secrets.token_bytes(40)
    seed = base64.b32encode(secret).decode("ascii")
    if not b.state.devices.insert(MfaDeviceRecord(serial=serial, name=name, path=path, seed=seed,
                                                  created=b.now())):
        raise already_exists("MFADevice entity at the same path and name already exists.")
    b.verifier.register(serial, secret, issuer=ISSUER, account=f"{name}@{b.account_id}", at=b.now())
    uri = f"otpauth://totp/{quote(name, safe='@')}@{b.account_id}?secret={seed}"
    # Base32StringSeed is a blob of the base32 *text*: botocore base64-decodes it to that text
    return {"VirtualMFADevice": {"SerialNumber": serial, "Base32StringSeed": seed.encode("ascii"),
                                 "QRCodePNG": qr_png_bytes(uri)}}


def _sync_error(reason: Reason) -> AwsApiFault:
    if reason is Reason.UNKNOWN:
        return AwsApiFault("NoSuchEntity", "MFA device not found.", 404)
    if reason is Reason.ALREADY_ACTIVE:
        return already_exists("MFA Device is already in use.")
    return invalid_code()  # not found, not consecutive, throttled, locked: IAM says no more


def enable_mfa_device(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user(b, req)
    serial = validate.serial(req)
    c1, c2 = validate.code(req, "AuthenticationCode1"), validate.code(req, "AuthenticationCode2")
    d = _device(b, serial)
    if d.user_name is not None:
        raise already_exists("MFA Device is already in use.")
    if len(b.state.devices.all(user_name=u.name)) >= MAX_MFA_PER_USER:
        raise limit_exceeded(f"Cannot exceed quota for MFADevicesPerUser: {MAX_MFA_PER_USER}")
    now = b.now()
    # claim first (compare-and-set): a concurrent enable of the same device loses here
    if not b.state.devices.update({"user_name": u.name, "enabled": now}, serial=serial, user_name=None):
        raise already_exists("MFA Device is already in use.")
    res = b.verifier.enable(serial, c1, c2, at=now)
    if not res.ok:
        b.state.devices.update({"user_name": None, "enabled": None}, serial=serial)
        raise _sync_error(res.reason)
    return None


def _assigned(b: Backend, req: QueryRequest, caller: Principal) -> MfaDeviceRecord:
    u = user_or_caller(b, req, caller)
    serial = validate.serial(req)
    d = b.state.devices.get(serial=serial)
    if d is None or d.user_name != u.name:
        raise AwsApiFault("NoSuchEntity", f"MFA Device with serial number {serial} not found for user "
                          f"{u.name}.", 404)
    return d


def resync_mfa_device(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    c1, c2 = validate.code(req, "AuthenticationCode1"), validate.code(req, "AuthenticationCode2")
    d = _assigned(b, req, caller)
    res = b.verifier.resync(d.serial, c1, c2, at=b.now())
    if not res.ok:
        raise _sync_error(res.reason)
    return None


def deactivate_mfa_device(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    d = _assigned(b, req, caller)
    now = b.now()
    b.state.devices.update({"user_name": None, "enabled": None}, serial=d.serial)
    # the device may be enabled again later: start its verifier record afresh (pending)
    b.store.delete(d.serial)
    b.verifier.register(d.serial, base64.b32decode(d.seed), issuer=ISSUER,
                        account=f"{d.name}@{b.account_id}", at=now)
    return None


def delete_virtual_mfa_device(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    serial = validate.serial(req)
    d = _device(b, serial)
    if d.user_name is not None or not b.state.devices.delete(serial=serial, user_name=None):
        raise delete_conflict("MFA Device is still in use by a user; deactivate it first.")
    b.store.delete(serial)
    return None


def list_mfa_devices(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    if req.get("UserName") is None and caller.username is None:
        return {"MFADevices": [], "IsTruncated": False}
    u = user_or_caller(b, req, caller)
    items = [{"UserName": d.user_name, "SerialNumber": d.serial, "EnableDate": Timestamp(d.enabled or 0)}
             for d in b.state.devices.all(user_name=u.name)]
    return page(req, items, "MFADevices")


def list_virtual_mfa_devices(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    status = req.get("AssignmentStatus", "Any")
    if status not in ("Assigned", "Unassigned", "Any"):
        raise AwsApiFault("ValidationError", f"1 validation error detected: Value '{(status or '')[:64]}' at "
                          "'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value "
                          "set: [Unassigned, Any, Assigned]")
    out: list[dict[str, Any]] = []
    for d in b.state.devices.all():
        if (status == "Assigned" and d.user_name is None) or (status == "Unassigned" and d.user_name):
            continue
        item: dict[str, Any] = {"SerialNumber": d.serial}
        owner = b.state.users.get(name=d.user_name) if d.user_name else None
        if owner is not None:
            item["User"] = user_record(b, owner)
            item["EnableDate"] = Timestamp(d.enabled or 0)
        out.append(item)
    return page(req, out, "VirtualMFADevices")


ACTIONS: dict[str, Handler] = {
    "CreateVirtualMFADevice": create_virtual_mfa_device, "EnableMFADevice": enable_mfa_device,
    "ResyncMFADevice": resync_mfa_device, "DeactivateMFADevice": deactivate_mfa_device,
    "DeleteVirtualMFADevice": delete_virtual_mfa_device, "ListMFADevices": list_mfa_devices,
    "ListVirtualMFADevices": list_virtual_mfa_devices,
}
