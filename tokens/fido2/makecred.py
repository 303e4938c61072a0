"""authenticatorMakeCredential (CTAP 2.1 §6.1)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fido2.webauthn import AttestedCredentialData, AuthenticatorData

from . import attestation, extensions, keys
from ._params import descriptors, optional, options, required
from .clientpin import Perm
from .credentials import Credential, rp_hash, wrap
from .errors import ERR, CtapStatus
from .user import KeepAlive

if TYPE_CHECKING:
    from .core import Authenticator

FLAG = AuthenticatorData.FLAG


def make_credential(a: Authenticator, req: Mapping[int, Any], event: threading.Event | None,
                    keepalive: KeepAlive | None) -> dict[int, Any]:
    cdh: bytes = required(req, 1, bytes, "clientDataHash")
    rp: dict[str, Any] = required(req, 2, dict, "rp")
    user: dict[str, Any] = required(req, 3, dict, "user")
    params = req.get(4)
    if params is None:
        raise CtapStatus(ERR.MISSING_PARAMETER, "pubKeyCredParams")
    rp_id: str = required(rp, "id", str, "rp.id")
    user_id: bytes = required(user, "id", bytes, "user.id")
    if len(user_id) > 64:
        raise CtapStatus(ERR.INVALID_LENGTH, "user.id longer than 64 bytes")
    for k in ("name", "displayName"):
        optional(user, k, str, f"user.{k}")
    alg = keys.choose(params, a.state.algorithms)
    exclude = descriptors(req, 5, "excludeList")
    ext = optional(req, 6, dict, "extensions")
    opts = options(req, 7)
    if req.get(10) is not None:
        raise CtapStatus(ERR.INVALID_PARAMETER, "enterprise attestation is not supported")
    if opts.get("up") is False:
        raise CtapStatus(ERR.INVALID_OPTION, "makeCredential always needs user presence")
    rk = opts.get("rk", False)
    if rk and len(a.state.resident) >= a.state.capacity and not _replaces(a, rp_id, user_id):
        raise CtapStatus(ERR.KEY_STORE_FULL)

    uv = a.authorize(req, 8, rp_id, cdh, Perm.MC, opts.get("uv", False), event, keepalive)
    if a.protected and not uv and rk:
        raise CtapStatus(ERR.PUAT_REQUIRED, "a discoverable credential needs user verification")

    rph = rp_hash(rp_id)
    for cid in exclude:
        cred = a.find(cid, rph)
        if cred is not None and not (cred.cred_protect == 3 and not uv):
            a.user_presence(event, keepalive)
            raise CtapStatus(ERR.CREDENTIAL_EXCLUDED)

    mc_ext = extensions.make_credential(a, ext, rp_id, rk)
    a.user_presence(event, keepalive)

    key = keys.generate(alg)
    private = key.private
    if alg is keys.Alg.RS256:  # too big for a credential ID: keep it, wrap a handle
        private = os.urandom(16)
        a.state.rsa_keys[private.hex()] = key.private.hex()
    created = max([a.clock.now()] + [c.created + 1e-6 for c in a.state.resident])
    cred = wrap(a.state.master_key, Credential(
        credential_id=b"", rp_id_hash=rph, alg=alg, private=private, resident=rk,
        cred_protect=mc_ext.cred_protect, cred_blob=mc_ext.cred_blob, hmac_secret=mc_ext.hmac_secret,
        rp_id=rp_id, large_blob_key=mc_ext.large_blob_key, created=created,
        user={k: user[k] for k in ("id", "name", "displayName") if k in user} if rk else {},
    ))
    if rk:
        for old in [c for c in a.state.resident if c.rp_id_hash == rph and c.user.get("id") == user_id]:
            a.state.resident.remove(old)  # same account again: the new credential replaces it
            a.state.rsa_keys.pop(old.private.hex(), None)
        a.state.resident.append(cred)
    a.dirty = True
    extensions.hmac_secret_mc(a, cred, ext, uv, mc_ext.outputs)

    flags = FLAG.UP | FLAG.AT | (FLAG.UV if uv else 0) | (FLAG.ED if mc_ext.outputs else 0)
    acd = AttestedCredentialData.create(a.state.aaguid, cred.credential_id, key.cose)  # type: ignore[arg-type]
    auth_data = bytes(AuthenticatorData.create(rph, FLAG(flags), a.counter(cred.credential_id, False), acd,
                                               mc_ext.outputs or None))
    fmt, stmt = attestation.statement(a.state.attestation, auth_data, cdh, key, a.state.batch)
    resp: dict[int, Any] = {1: fmt, 2: auth_data, 3: stmt}
    if mc_ext.large_blob_key is not None:
        resp[5] = mc_ext.large_blob_key
    return resp


def _replaces(a: Authenticator, rp_id: str, user_id: bytes) -> bool:
    rph = rp_hash(rp_id)
    return any(c.rp_id_hash == rph and c.user.get("id") == user_id for c in a.state.resident)
