"""authenticatorCredentialManagement (CTAP 2.1 §6.8): metadata, enumerate RPs / credentials, delete,
update user information.  Every begin/metadata/delete/update call needs a pinUvAuthToken with the
``cm`` permission; the *next* calls continue the enumeration started by the last *begin*.

The same handler answers command 0x0A and its CTAP 2.1-preview code 0x41 (what libfido2 < 1.15
sends); the message the token authenticates is the same for both.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from fido2 import cbor
from fido2.ctap2.credman import CredentialManagement as CM

from ...errors import ERR, CtapStatus
from ..credentials import CredentialRecord
from ..params import optional, required
from ..pinauth import Permission, PinUvAuth
from ..store import CredentialStore
from ..user import KeepAlive
from ..wire import SubCommandParam as S

CMD, PARAM, RESULT = CM.CMD, CM.PARAM, CM.RESULT
USER_INFO = ("name", "displayName")


class CredentialManagement:
    def __init__(self, store: CredentialStore, pin: PinUvAuth) -> None:
        self.store, self.pin = store, pin
        self.reset_enumeration()

    def reset_enumeration(self) -> None:
        self._rps: list[tuple[str, bytes]] = []
        self._creds: list[CredentialRecord] = []

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None = None,
                 keepalive: KeepAlive | None = None) -> dict[int, Any]:
        sub: int = required(req, S.SUB_COMMAND, int, "subCommand")
        params = optional(req, S.SUB_COMMAND_PARAMS, dict, "subCommandParams")
        if sub == CMD.ENUMERATE_RPS_NEXT:
            return self._next_rp()
        if sub == CMD.ENUMERATE_CREDS_NEXT:
            return self._next_cred()
        if sub not in set(CMD):
            raise CtapStatus(ERR.INVALID_SUBCOMMAND)
        param = req.get(S.PIN_UV_AUTH_PARAM)
        if param is None:
            raise CtapStatus(ERR.PUAT_REQUIRED)
        message = bytes([sub]) + (cbor.encode(params) if params is not None else b"")
        self.pin.verify_token(req.get(S.PIN_UV_AUTH_PROTOCOL), param, message, Permission.CREDENTIAL_MGMT,
                              None)
        self.reset_enumeration()
        if sub == CMD.GET_CREDS_METADATA:
            return {RESULT.EXISTING_CRED_COUNT: self.store.count,
                    RESULT.MAX_REMAINING_COUNT: self.store.remaining}
        if sub == CMD.ENUMERATE_RPS_BEGIN:
            self._rps = self.store.rps()
            if not self._rps:
                raise CtapStatus(ERR.NO_CREDENTIALS)
            total = len(self._rps)
            return {**self._next_rp(), RESULT.TOTAL_RPS: total}
        p = params or {}
        if sub == CMD.ENUMERATE_CREDS_BEGIN:
            rph: bytes = required(p, PARAM.RP_ID_HASH, bytes, "rpIdHash")
            self._creds = self.store.residents(rph)
            if not self._creds:
                raise CtapStatus(ERR.NO_CREDENTIALS)
            total = len(self._creds)
            return {**self._next_cred(), RESULT.TOTAL_CREDENTIALS: total}
        desc: dict[str, Any] = required(p, PARAM.CREDENTIAL_ID, dict, "credentialId")
        cid: bytes = required(desc, "id", bytes, "credentialId.id")
        cred = self.store.resident(cid)
        if cred is None:
            raise CtapStatus(ERR.NO_CREDENTIALS)
        if sub == CMD.DELETE_CREDENTIAL:
            self.store.delete(cid)
        else:
            user: dict[str, Any] = required(p, PARAM.USER, dict, "user")
            if user.get("id") != cred.user.get("id"):
                raise CtapStatus(ERR.INVALID_PARAMETER, "user.id differs")
            self.store.update_user(cid, {"id": cred.user["id"], **{
                k: v for k, v in user.items() if k in USER_INFO and isinstance(v, str)}})
        return {}

    def _next_rp(self) -> dict[int, Any]:
        if not self._rps:
            raise CtapStatus(ERR.NOT_ALLOWED, "no enumeration in progress")
        rp_id, h = self._rps.pop(0)
        return {RESULT.RP: {"id": rp_id}, RESULT.RP_ID_HASH: h}

    def _next_cred(self) -> dict[int, Any]:
        if not self._creds:
            raise CtapStatus(ERR.NOT_ALLOWED, "no enumeration in progress")
        c = self._creds.pop(0)
        out: dict[int, Any] = {
            RESULT.USER: c.user, RESULT.CREDENTIAL_ID: {"id": c.credential_id, "type": "public-key"},
            RESULT.PUBLIC_KEY: self.store.keypair(c).cose, RESULT.CRED_PROTECT: c.cred_protect}
        if c.large_blob_key:
            out[RESULT.LARGE_BLOB_KEY] = c.large_blob_key
        return out
