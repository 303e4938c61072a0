"""authenticatorGetAssertion and authenticatorGetNextAssertion (CTAP 2.1 §6.2, §6.3)."""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fido2 import cbor
from fido2.ctap2.base import AssertionResponse
from fido2.webauthn import AuthenticatorData

from ...errors import ERR, CtapStatus
from ..checks import UserChecks
from ..credentials import CredentialRecord, rp_hash
from ..keys import KeyPair
from ..limits import NEXT_ASSERTION_TIMEOUT
from ..params import descriptors, optional, options, required
from ..pinauth import Permission
from ..store import CredentialStore
from ..user import KeepAlive
from ..wire import GetAssertionParam as P
from ..wire import response
from .extensions import Extensions

FLAG = AuthenticatorData.FLAG
#: (key, authenticatorData, clientDataHash) -> (authenticatorData, signature); faults wrap it
Sign = Callable[[KeyPair, bytes, bytes], tuple[bytes, bytes]]


@dataclass
class Pending:
    """Credentials left for authenticatorGetNextAssertion."""

    rp_id_hash: bytes
    client_data_hash: bytes
    rest: list[CredentialRecord]
    up: bool
    uv: bool
    extensions: Mapping[str, Any] | None
    at: float


class GetAssertion:
    def __init__(self, store: CredentialStore, checks: UserChecks, extensions: Extensions,
                 sign: Sign, now: Callable[[], float]) -> None:
        self.store, self.checks, self.extensions, self.sign, self.now = store, checks, extensions, sign, now
        self.pending: Pending | None = None

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None,
                 keepalive: KeepAlive | None) -> dict[int, Any]:
        rp_id: str = required(req, P.RP_ID, str, "rpId")
        cdh: bytes = required(req, P.CLIENT_DATA_HASH, bytes, "clientDataHash")
        allow = descriptors(req, P.ALLOW_LIST, "allowList")
        has_allow = bool(optional(req, P.ALLOW_LIST, list, "allowList"))
        ext = optional(req, P.EXTENSIONS, dict, "extensions")
        opts = options(req, P.OPTIONS)
        if "rk" in opts:
            raise CtapStatus(ERR.UNSUPPORTED_OPTION, "rk is not a getAssertion option")
        up = opts.get("up", True)
        uv = self.checks.authorize(req.get(P.PIN_UV_AUTH_PARAM), req.get(P.PIN_UV_AUTH_PROTOCOL), rp_id, cdh,
                                   Permission.GET_ASSERTION, opts.get("uv", False), event, keepalive)

        if up:
            uv = self.checks.enforce_always_uv(uv, event, keepalive)
        rph = rp_hash(rp_id)
        if has_allow:
            creds = [c for c in (self.store.find(cid, rph) for cid in allow) if c is not None]
            creds = [c for c in creds if c.cred_protect < 3 or uv][:1]
        else:
            creds = [c for c in self.store.residents(rph) if c.cred_protect < 2 or uv]
        if up:
            self.checks.user_presence(event, keepalive)
        if not creds:
            raise CtapStatus(ERR.NO_CREDENTIALS)
        if len(creds) > 1:
            self.pending = Pending(rph, cdh, creds[1:], up, uv, ext, self.now())
        return self.assertion(creds[0], rph, cdh, up, uv, ext, count=len(creds) if len(creds) > 1 else None,
                              with_user=not has_allow)

    def next(self, req: Mapping[int, Any], event: threading.Event | None,
             keepalive: KeepAlive | None) -> dict[int, Any]:
        p = self.pending
        if p is None or not p.rest:
            raise CtapStatus(ERR.NOT_ALLOWED, "no pending assertions")
        if self.now() - p.at > NEXT_ASSERTION_TIMEOUT:
            self.pending = None
            raise CtapStatus(ERR.NOT_ALLOWED, "getNextAssertion timer expired")
        cred = p.rest.pop(0)
        p.at = self.now()
        return self.assertion(cred, p.rp_id_hash, p.client_data_hash, p.up, p.uv, p.extensions, count=None,
                              with_user=True)

    def assertion(self, cred: CredentialRecord, rph: bytes, cdh: bytes, up: bool, uv: bool,
                  ext: Mapping[Any, Any] | None, *, count: int | None, with_user: bool) -> dict[int, Any]:
        ext_out = self.extensions.get_assertion(cred, ext, uv)
        flags = ((FLAG.UP if up else 0) | (FLAG.UV if uv else 0) | (FLAG.ED if ext_out else 0)
                 | cred.backup.flags)
        counter = self.store.counter(cred.credential_id, bump=up)
        auth_data = rph + struct.pack(">BI", flags, counter) + (cbor.encode(ext_out) if ext_out else b"")
        auth_data, sig = self.sign(self.store.keypair(cred), auth_data, cdh)
        user: dict[str, Any] | None = None
        if cred.resident and with_user and cred.user:
            user = {"id": cred.user["id"]}
            if uv and count:
                user.update({k: v for k, v in cred.user.items() if k in ("name", "displayName")})
        lbk = cred.large_blob_key if ext and ext.get("largeBlobKey") is True else None
        return response(AssertionResponse, credential={"id": cred.credential_id, "type": "public-key"},
                        auth_data=auth_data, signature=sig, user=user, number_of_credentials=count,
                        large_blob_key=lbk)
