"""Authenticator-side extensions: credProtect, hmac-secret (+ hmac-secret-mc), credBlob, largeBlobKey,
minPinLength."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .clientpin import PROTOCOLS
from .credentials import Credential
from .errors import ERR, CtapStatus

if TYPE_CHECKING:
    from .core import Authenticator

MAX_CRED_BLOB = 32


@dataclass
class McExtensions:
    outputs: dict[str, Any]
    cred_protect: int = 1
    cred_blob: bytes = b""
    hmac_secret: bool = False
    large_blob_key: bytes | None = None


def make_credential(a: Authenticator, ext: Mapping[Any, Any] | None, rp_id: str, rk: bool) -> McExtensions:
    res = McExtensions(outputs={})
    if not ext:
        return res
    if (cp := ext.get("credProtect")) is not None:
        if not isinstance(cp, int) or isinstance(cp, bool) or cp not in (1, 2, 3):
            raise CtapStatus(ERR.INVALID_PARAMETER, "credProtect must be 1, 2 or 3")
        res.cred_protect = cp
        res.outputs["credProtect"] = cp
    if (hs := ext.get("hmac-secret")) is not None:
        if not isinstance(hs, bool):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "hmac-secret")
        res.hmac_secret = hs
        res.outputs["hmac-secret"] = hs
    if (blob := ext.get("credBlob")) is not None:
        if not isinstance(blob, bytes):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "credBlob")
        ok = len(blob) <= MAX_CRED_BLOB
        res.cred_blob = blob if ok else b""
        res.outputs["credBlob"] = ok
    if (lbk := ext.get("largeBlobKey")) is not None:
        if lbk is not True:
            raise CtapStatus(ERR.INVALID_OPTION, "largeBlobKey must be true")
        if not rk:
            raise CtapStatus(ERR.INVALID_OPTION, "largeBlobKey needs a discoverable credential")
        res.large_blob_key = os.urandom(32)
    if ext.get("minPinLength") is True and rp_id in a.state.min_pin_rp_ids:
        res.outputs["minPinLength"] = a.state.min_pin_length
    return res


def hmac_secret_mc(a: Authenticator, cred: Credential, ext: Mapping[Any, Any] | None, uv: bool,
                   outputs: dict[str, Any]) -> None:
    """hmac-secret-mc: PRF outputs for the credential being created (needs its key, so runs last)."""
    if ext and cred.hmac_secret and (value := ext.get("hmac-secret-mc")) is not None:
        outputs["hmac-secret-mc"] = _hmac_secret(a, cred, value, uv)


def _hmac_secret(a: Authenticator, cred: Credential, value: object, uv: bool) -> bytes:
    if not isinstance(value, dict):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "hmac-secret")
    version = value.get(4, 1)
    if version not in PROTOCOLS:
        raise CtapStatus(ERR.INVALID_PARAMETER, "hmac-secret pinUvAuthProtocol")
    protocol = PROTOCOLS[version]
    salt_enc, salt_auth = value.get(2), value.get(3)
    if not isinstance(salt_enc, bytes) or not isinstance(salt_auth, bytes):
        raise CtapStatus(ERR.MISSING_PARAMETER, "hmac-secret saltEnc / saltAuth")
    shared = a.pin.shared_secret(protocol, value.get(1))
    if not hmac.compare_digest(protocol.authenticate(shared, salt_enc), salt_auth):
        raise CtapStatus(ERR.PIN_AUTH_INVALID, "hmac-secret saltAuth")
    iv = 16 if protocol.VERSION == 2 else 0
    if len(salt_enc) not in (32 + iv, 64 + iv):
        raise CtapStatus(ERR.INVALID_LENGTH, "hmac-secret salts")
    salts = protocol.decrypt(shared, salt_enc)
    key = cred.cred_random(uv)
    out = b"".join(hmac.new(key, salts[i:i + 32], hashlib.sha256).digest() for i in range(0, len(salts), 32))
    return protocol.encrypt(shared, out)


def get_assertion(a: Authenticator, cred: Credential, ext: Mapping[Any, Any] | None,
                  uv: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not ext:
        return out
    if (hs := ext.get("hmac-secret")) is not None and cred.hmac_secret:
        out["hmac-secret"] = _hmac_secret(a, cred, hs, uv)
    if ext.get("credBlob") is True:
        out["credBlob"] = cred.cred_blob
    if "largeBlobKey" in ext and ext["largeBlobKey"] is not True:
        raise CtapStatus(ERR.INVALID_OPTION, "largeBlobKey must be true")
    return out
