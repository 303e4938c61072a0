"""authenticatorGetAssertion and authenticatorGetNextAssertion (CTAP 2.1 §6.2, §6.3)."""

from __future__ import annotations

import struct
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fido2 import cbor
from fido2.webauthn import AuthenticatorData

from . import extensions
from ._params import descriptors, optional, options, required
from .clientpin import Perm
from .core import Pending
from .credentials import Credential, rp_hash
from .errors import ERR, CtapStatus
from .user import KeepAlive

if TYPE_CHECKING:
    from .core import Authenticator

UP, UV, ED = int(AuthenticatorData.FLAG.UP), int(AuthenticatorData.FLAG.UV), int(AuthenticatorData.FLAG.ED)
NEXT_ASSERTION_TIMEOUT = 30.0


def get_assertion(a: Authenticator, req: Mapping[int, Any], event: threading.Event | None,
                  keepalive: KeepAlive | None) -> dict[int, Any]:
    rp_id: str = required(req, 1, str, "rpId")
    cdh: bytes = required(req, 2, bytes, "clientDataHash")
    allow = descriptors(req, 3, "allowList")
    has_allow = bool(optional(req, 3, list, "allowList"))
    ext = optional(req, 4, dict, "extensions")
    opts = options(req, 5)
    if "rk" in opts:
        raise CtapStatus(ERR.UNSUPPORTED_OPTION, "rk is not a getAssertion option")
    up = opts.get("up", True)
    uv = a.authorize(req, 6, rp_id, cdh, Perm.GA, opts.get("uv", False), event, keepalive)

    rph = rp_hash(rp_id)
    if has_allow:
        creds = [c for c in (a.find(cid, rph) for cid in allow) if c is not None]
        creds = [c for c in creds if c.cred_protect < 3 or uv][:1]
    else:
        creds = [c for c in a.residents(rph) if c.cred_protect < 2 or uv]
    if up:
        a.user_presence(event, keepalive)
    if not creds:
        raise CtapStatus(ERR.NO_CREDENTIALS)
    if len(creds) > 1:
        a.pending = Pending(rph, cdh, creds[1:], up, uv, ext, a.clock.now())
    return assertion(a, creds[0], rph, cdh, up, uv, ext, count=len(creds) if len(creds) > 1 else None,
                     with_user=not has_allow)


def get_next_assertion(a: Authenticator, req: Mapping[int, Any]) -> dict[int, Any]:
    p = a.pending
    if p is None or not p.rest:
        raise CtapStatus(ERR.NOT_ALLOWED, "no pending assertions")
    if a.clock.now() - p.at > NEXT_ASSERTION_TIMEOUT:
        a.pending = None
        raise CtapStatus(ERR.NOT_ALLOWED, "getNextAssertion timer expired")
    cred = p.rest.pop(0)
    p.at = a.clock.now()
    return assertion(a, cred, p.rp_id_hash, p.client_data_hash, p.up, p.uv, p.extensions, count=None,
                     with_user=True)


def assertion(a: Authenticator, cred: Credential, rph: bytes, cdh: bytes, up: bool, uv: bool,
              ext: Mapping[Any, Any] | None, *, count: int | None, with_user: bool) -> dict[int, Any]:
    ext_out = extensions.get_assertion(a, cred, ext, uv)
    flags = (UP if up else 0) | (UV if uv else 0) | (ED if ext_out else 0)
    counter = a.counter(cred.credential_id, bump=up)
    auth_data = rph + struct.pack(">BI", flags, counter) + (cbor.encode(ext_out) if ext_out else b"")
    auth_data, sig = a.signer.sign(a.keypair(cred), auth_data, cdh)
    resp: dict[int, Any] = {1: {"id": cred.credential_id, "type": "public-key"}, 2: auth_data, 3: sig}
    if cred.resident and with_user and cred.user:
        user = {"id": cred.user["id"]}
        if uv and count:
            user.update({k: v for k, v in cred.user.items() if k in ("name", "displayName")})
        resp[4] = user
    if count:
        resp[5] = count
    if ext and ext.get("largeBlobKey") is True and cred.large_blob_key:
        resp[7] = cred.large_blob_key
    return resp
