"""IAM actions: users (minimal), access keys (minimal), virtual MFA devices.

Each action takes ``(backend, request, caller)`` and returns the result members (or None for an
action without output); failures raise :class:`ApiError` with IAM's code, message and status.
Code checking is the verifier's: EnableMFADevice and ResyncMFADevice need two consecutive codes.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ..qr import qr_png_bytes
from ..verifier import Reason
from .backend import Backend, Caller, random_id
from .errors import ApiError, invalid_code, no_such_device, no_such_user
from .protocol import QueryRequest, Timestamp
from .state import Device, User

MAX_MFA_PER_USER = 8  # AWS quota MFADevicesPerUser
Result = dict[str, Any] | None


def user_record(b: Backend, u: User) -> dict[str, Any]:
    return {"Path": u.path, "UserName": u.name, "UserId": u.user_id, "Arn": b.user_arn(u),
            "CreateDate": Timestamp(u.created)}


def _device(b: Backend, serial: str) -> Device:
    d = b.state.device(serial)
    if d is None:
        raise no_such_device(serial)
    return d


def _user(b: Backend, req: QueryRequest) -> User:
    name = b.required(req, "UserName")
    u = b.state.user(name)
    if u is None:
        raise no_such_user(name)
    return u


def create_user(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    name = b.check_name(b.required(req, "UserName"), "userName", 64)
    path = b.check_path(req.get("Path", "/") or "/")
    u = User(name=name, user_id=random_id("AIDA", 17), path=path, created=b.now())
    if not b.state.add_user(u):
        raise ApiError("EntityAlreadyExists", f"User with name {name} already exists.", 409)
    return {"User": user_record(b, u)}


def get_user(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    u = b.user_or_caller(req, caller)
    if u is None:  # the root user
        return {"User": {"UserId": b.account_id, "Arn": b.user_arn(None), "CreateDate": Timestamp(0)}}
    return {"User": user_record(b, u)}


def create_access_key(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    u = b.user_or_caller(req, caller)
    if u is None:
        raise ApiError("ValidationError", "Must specify userName when calling with non-User credentials")
    k = b.issue_key(u)
    return {"AccessKey": {"UserName": u.name, "AccessKeyId": k.access_key_id, "Status": "Active",
                          "SecretAccessKey": k.secret, "CreateDate": Timestamp(k.created)}}


def create_virtual_mfa_device(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    name = b.check_name(b.required(req, "VirtualMFADeviceName"), "virtualMFADeviceName", 226)
    path = b.check_path(req.get("Path", "/") or "/")
    serial = b.mfa_arn(path, name)
    secret = secrets.token_bytes(40)
    seed = base64.b32encode(secret).decode("ascii")
    if not b.state.add_device(Device(serial=serial, name=name, path=path, seed=seed, created=b.now())):
        raise ApiError("EntityAlreadyExists",
                       "MFADevice entity at the same path and name already exists.", 409)
    b.verifier.register(serial, secret, issuer="Amazon Web Services", account=f"{name}@{b.account_id}",
                        at=b.now())
    uri = f"otpauth://totp/{quote(name, safe='@')}@{b.account_id}?secret={seed}"
    # Base32StringSeed is a blob of the base32 *text*: botocore base64-decodes it to that text
    return {"VirtualMFADevice": {"SerialNumber": serial, "Base32StringSeed": seed.encode("ascii"),
                                 "QRCodePNG": qr_png_bytes(uri)}}


def _sync_error(reason: Reason) -> ApiError:
    if reason is Reason.UNKNOWN:
        return ApiError("NoSuchEntity", "MFA device not found.", 404)
    if reason is Reason.ALREADY_ACTIVE:
        return ApiError("EntityAlreadyExists", "MFA Device is already in use.", 409)
    return invalid_code()  # not found, not consecutive, throttled, locked: IAM says no more


def enable_mfa_device(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    u = _user(b, req)
    serial = b.required(req, "SerialNumber")
    c1 = b.check_code(b.required(req, "AuthenticationCode1"), "authenticationCode1")
    c2 = b.check_code(b.required(req, "AuthenticationCode2"), "authenticationCode2")
    d = _device(b, serial)
    if d.user_name is not None:
        raise ApiError("EntityAlreadyExists", "MFA Device is already in use.", 409)
    if len(b.state.devices(u.name)) >= MAX_MFA_PER_USER:
        raise ApiError("LimitExceeded", f"Cannot exceed quota for MFADevicesPerUser: {MAX_MFA_PER_USER}", 409)
    now = b.now()
    if not b.state.assign(serial, u.name, now):  # claim first: a concurrent enable loses here
        raise ApiError("EntityAlreadyExists", "MFA Device is already in use.", 409)
    res = b.verifier.enable(serial, c1, c2, at=now)
    if not res.ok:
        b.state.unassign(serial)
        raise _sync_error(res.reason)
    return None


def _assigned(b: Backend, req: QueryRequest, caller: Caller) -> tuple[User, Device]:
    u = b.user_or_caller(req, caller)
    serial = b.required(req, "SerialNumber")
    d = b.state.device(serial)
    if u is None or d is None or d.user_name != u.name:
        who = u.name if u else "root"
        raise ApiError("NoSuchEntity",
                       f"MFA Device with serial number {serial} not found for user {who}.", 404)
    return u, d


def resync_mfa_device(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    _user(b, req)
    c1 = b.check_code(b.required(req, "AuthenticationCode1"), "authenticationCode1")
    c2 = b.check_code(b.required(req, "AuthenticationCode2"), "authenticationCode2")
    _, d = _assigned(b, req, caller)
    res = b.verifier.resync(d.serial, c1, c2, at=b.now())
    if not res.ok:
        raise _sync_error(res.reason)
    return None


def deactivate_mfa_device(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    _, d = _assigned(b, req, caller)
    now = b.now()
    b.state.unassign(d.serial)
    # the device may be enabled again later: start its verifier record afresh (pending)
    b.store.delete(d.serial)
    b.verifier.register(d.serial, base64.b32decode(d.seed), issuer="Amazon Web Services",
                        account=f"{d.name}@{b.account_id}", at=now)
    return None


def delete_virtual_mfa_device(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    serial = b.required(req, "SerialNumber")
    d = _device(b, serial)
    if d.user_name is not None or not b.state.delete_device(serial):
        raise ApiError("DeleteConflict", "MFA Device is still in use by a user; deactivate it first.", 409)
    b.store.delete(serial)
    return None


def list_mfa_devices(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    u = b.user_or_caller(req, caller)
    devices = b.state.devices(u.name) if u else []
    return {"MFADevices": [{"UserName": d.user_name, "SerialNumber": d.serial,
                            "EnableDate": Timestamp(d.enabled or 0)} for d in devices],
            "IsTruncated": False}


def list_virtual_mfa_devices(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    status = req.get("AssignmentStatus", "Any")
    if status not in ("Assigned", "Unassigned", "Any"):
        raise ApiError("ValidationError", f"1 validation error detected: Value '{status}' at "
                       "'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: "
                       "[Unassigned, Any, Assigned]")
    out = []
    for d in b.state.devices():
        if (status == "Assigned" and d.user_name is None) or (status == "Unassigned" and d.user_name):
            continue
        item: dict[str, Any] = {"SerialNumber": d.serial}
        owner = b.state.user(d.user_name) if d.user_name else None
        if owner is not None:
            item["User"] = user_record(b, owner)
            item["EnableDate"] = Timestamp(d.enabled or 0)
        out.append(item)
    return {"VirtualMFADevices": out, "IsTruncated": False}


ACTIONS: dict[str, Callable[[Backend, QueryRequest, Caller], Result]] = {
    "CreateUser": create_user,
    "GetUser": get_user,
    "CreateAccessKey": create_access_key,
    "CreateVirtualMFADevice": create_virtual_mfa_device,
    "EnableMFADevice": enable_mfa_device,
    "ResyncMFADevice": resync_mfa_device,
    "DeactivateMFADevice": deactivate_mfa_device,
    "DeleteVirtualMFADevice": delete_virtual_mfa_device,
    "ListMFADevices": list_mfa_devices,
    "ListVirtualMFADevices": list_virtual_mfa_devices,
}
