"""authenticatorCredentialManagement (CTAP 2.1 §6.8): metadata, enumerate RPs / credentials, delete,
update user information.  Every begin/metadata/delete/update call needs a pinUvAuthToken with the
``cm`` permission; the *next* calls continue the enumeration started by the last *begin*."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, unique
from typing import TYPE_CHECKING, Any

from fido2 import cbor

from ._params import optional, required
from .clientpin import Perm
from .credentials import Credential
from .errors import ERR, CtapStatus

if TYPE_CHECKING:
    from .core import Authenticator


@unique
class Sub(IntEnum):
    METADATA = 0x01
    RPS_BEGIN = 0x02
    RPS_NEXT = 0x03
    CREDS_BEGIN = 0x04
    CREDS_NEXT = 0x05
    DELETE = 0x06
    UPDATE_USER = 0x07


class CredentialManagement:
    def __init__(self, a: Authenticator) -> None:
        self.a = a
        self.reset_enumeration()

    def reset_enumeration(self) -> None:
        self._rps: list[tuple[str, bytes]] = []
        self._creds: list[Credential] = []

    def handle(self, req: Mapping[int, Any]) -> dict[int, Any]:
        sub: int = required(req, 1, int, "subCommand")
        params = optional(req, 2, dict, "subCommandParams")
        if sub == Sub.RPS_NEXT:
            return self._next_rp()
        if sub == Sub.CREDS_NEXT:
            return self._next_cred()
        if sub not in set(Sub):
            raise CtapStatus(ERR.INVALID_SUBCOMMAND)
        param = req.get(4)
        if param is None:
            raise CtapStatus(ERR.PUAT_REQUIRED)
        message = bytes([sub]) + (cbor.encode(params) if params is not None else b"")
        self.a.pin.verify_token(req.get(3), param, message, Perm.CM, None)
        self.reset_enumeration()
        st = self.a.state
        if sub == Sub.METADATA:
            return {1: len(st.resident), 2: max(0, st.capacity - len(st.resident))}
        if sub == Sub.RPS_BEGIN:
            seen: dict[bytes, str] = {}
            for c in st.resident:
                seen.setdefault(c.rp_id_hash, c.rp_id)
            self._rps = [(rp_id, h) for h, rp_id in seen.items()]
            if not self._rps:
                raise CtapStatus(ERR.NO_CREDENTIALS)
            total = len(self._rps)
            return {**self._next_rp(), 5: total}
        p = params or {}
        if sub == Sub.CREDS_BEGIN:
            rph: bytes = required(p, 1, bytes, "rpIdHash")
            self._creds = self.a.residents(rph)
            if not self._creds:
                raise CtapStatus(ERR.NO_CREDENTIALS)
            total = len(self._creds)
            return {**self._next_cred(), 9: total}
        desc: dict[str, Any] = required(p, 2, dict, "credentialId")
        cid: bytes = required(desc, "id", bytes, "credentialId.id")
        cred = next((c for c in st.resident if c.credential_id == cid), None)
        if cred is None:
            raise CtapStatus(ERR.NO_CREDENTIALS)
        if sub == Sub.DELETE:
            st.resident = [c for c in st.resident if c.credential_id != cid]
            st.rsa_keys.pop(cred.private.hex(), None)
        else:
            user: dict[str, Any] = required(p, 3, dict, "user")
            if user.get("id") != cred.user.get("id"):
                raise CtapStatus(ERR.INVALID_PARAMETER, "user.id differs")
            new_user = {"id": cred.user["id"], **{k: v for k, v in user.items()
                                                  if k in ("name", "displayName") and isinstance(v, str)}}
            from dataclasses import replace
            st.resident = [replace(c, user=new_user) if c.credential_id == cid else c for c in st.resident]
        self.a.dirty = True
        return {}

    def _next_rp(self) -> dict[int, Any]:
        if not self._rps:
            raise CtapStatus(ERR.NOT_ALLOWED, "no enumeration in progress")
        rp_id, h = self._rps.pop(0)
        return {3: {"id": rp_id}, 4: h}

    def _next_cred(self) -> dict[int, Any]:
        if not self._creds:
            raise CtapStatus(ERR.NOT_ALLOWED, "no enumeration in progress")
        c = self._creds.pop(0)
        out = {6: c.user, 7: {"id": c.credential_id, "type": "public-key"},
               8: self.a.keypair(c).cose, 10: c.cred_protect}
        if c.large_blob_key:
            out[11] = c.large_blob_key
        return out
