"""Authenticator-side extensions: credProtect, hmac-secret (+ hmac-secret-mc), credBlob, largeBlobKey,
minPinLength."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ERR, CtapStatus
from ..credentials import CredentialRecord
from ..limits import MAX_CRED_BLOB
from ..pinauth import PROTOCOLS, PinUvAuth
from ..state import AuthenticatorState
from ..wire import HmacSecretParam as H

SALT = 32


@dataclass
class McExtensions:
    """What makeCredential's extension inputs decide for the new credential, and the outputs."""

    outputs: dict[str, Any] = field(default_factory=dict)
    cred_protect: int = 1
    cred_blob: bytes = b""
    hmac_secret: bool = False
    large_blob_key: bytes | None = None


class Extensions:
    def __init__(self, state: AuthenticatorState, pin: PinUvAuth, max_cred_blob: int = MAX_CRED_BLOB) -> None:
        self.state, self.pin, self.max_cred_blob = state, pin, max_cred_blob

    def make_credential(self, ext: Mapping[Any, Any] | None, rp_id: str, rk: bool) -> McExtensions:
        res = McExtensions()
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
            ok = len(blob) <= self.max_cred_blob
            res.cred_blob = blob if ok else b""
            res.outputs["credBlob"] = ok
        if (lbk := ext.get("largeBlobKey")) is not None:
            if lbk is not True:
                raise CtapStatus(ERR.INVALID_OPTION, "largeBlobKey must be true")
            if not rk:
                raise CtapStatus(ERR.INVALID_OPTION, "largeBlobKey needs a discoverable credential")
            res.large_blob_key = os.urandom(32)
        if ext.get("minPinLength") is True and rp_id in self.state.min_pin_rp_ids:
            res.outputs["minPinLength"] = self.state.min_pin_length
        return res

    def hmac_secret_mc(self, cred: CredentialRecord, ext: Mapping[Any, Any] | None, uv: bool,
                       outputs: dict[str, Any]) -> None:
        """hmac-secret-mc: PRF outputs for the credential being created (needs its key, so runs last)."""
        if ext and cred.hmac_secret and (value := ext.get("hmac-secret-mc")) is not None:
            outputs["hmac-secret-mc"] = self._hmac_secret(cred, value, uv)

    def _hmac_secret(self, cred: CredentialRecord, value: object, uv: bool) -> bytes:
        if not isinstance(value, dict):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "hmac-secret")
        version = value.get(H.PIN_UV_AUTH_PROTOCOL, 1)
        if version not in PROTOCOLS:
            raise CtapStatus(ERR.INVALID_PARAMETER, "hmac-secret pinUvAuthProtocol")
        protocol = PROTOCOLS[version]
        salt_enc, salt_auth = value.get(H.SALT_ENC), value.get(H.SALT_AUTH)
        if not isinstance(salt_enc, bytes) or not isinstance(salt_auth, bytes):
            raise CtapStatus(ERR.MISSING_PARAMETER, "hmac-secret saltEnc / saltAuth")
        shared = self.pin.shared_secret(protocol, value.get(H.KEY_AGREEMENT))
        if not hmac.compare_digest(protocol.authenticate(shared, salt_enc), salt_auth):
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "hmac-secret saltAuth")
        iv = 16 if protocol.VERSION == 2 else 0
        if len(salt_enc) not in (SALT + iv, 2 * SALT + iv):
            raise CtapStatus(ERR.INVALID_LENGTH, "hmac-secret salts")
        salts = protocol.decrypt(shared, salt_enc)
        key = cred.cred_random(uv)
        out = b"".join(hmac.new(key, salts[i:i + SALT], hashlib.sha256).digest()
                       for i in range(0, len(salts), SALT))
        return protocol.encrypt(shared, out)

    def get_assertion(self, cred: CredentialRecord, ext: Mapping[Any, Any] | None,
                      uv: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not ext:
            return out
        if (hs := ext.get("hmac-secret")) is not None and cred.hmac_secret:
            out["hmac-secret"] = self._hmac_secret(cred, hs, uv)
        if ext.get("credBlob") is True:
            out["credBlob"] = cred.cred_blob
        if "largeBlobKey" in ext and ext["largeBlobKey"] is not True:
            raise CtapStatus(ERR.INVALID_OPTION, "largeBlobKey must be true")
        return out
