"""authenticatorMakeCredential (CTAP 2.1 §6.1)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from fido2.ctap2.base import AttestationResponse
from fido2.webauthn import AttestedCredentialData, AuthenticatorData

from ...errors import ERR, CtapStatus
from .. import attestation, keys
from ..attestation import AttestationMode
from ..checks import UserChecks
from ..credentials import CredentialRecord, rp_hash, wrap
from ..faults import KeySigner
from ..limits import MAX_USER_ID
from ..params import descriptors, optional, options, required
from ..pinauth import Permission
from ..state import AuthenticatorState
from ..store import CredentialStore
from ..user import KeepAlive
from ..wire import MakeCredentialParam as P
from ..wire import response
from .extensions import Extensions

FLAG = AuthenticatorData.FLAG
_HONEST = KeySigner()
Tamper = Callable[[bytes], tuple[bytes, Callable[[bytes], bytes]]]
USER_FIELDS = ("id", "name", "displayName")


class MakeCredential:
    def __init__(self, state: AuthenticatorState, store: CredentialStore, checks: UserChecks,
                 extensions: Extensions, now: Callable[[], float], tamper: Tamper = _HONEST.tamper) -> None:
        self.state, self.store, self.checks, self.extensions, self.now = state, store, checks, extensions, now
        self.tamper = tamper

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None,
                 keepalive: KeepAlive | None) -> dict[int, Any]:
        cdh: bytes = required(req, P.CLIENT_DATA_HASH, bytes, "clientDataHash")
        rp: dict[str, Any] = required(req, P.RP, dict, "rp")
        user: dict[str, Any] = required(req, P.USER, dict, "user")
        params = req.get(P.PUB_KEY_CRED_PARAMS)
        if params is None:
            raise CtapStatus(ERR.MISSING_PARAMETER, "pubKeyCredParams")
        rp_id: str = required(rp, "id", str, "rp.id")
        user_id: bytes = required(user, "id", bytes, "user.id")
        if len(user_id) > MAX_USER_ID:
            raise CtapStatus(ERR.INVALID_LENGTH, f"user.id longer than {MAX_USER_ID} bytes")
        for k in ("name", "displayName"):
            optional(user, k, str, f"user.{k}")
        alg = keys.choose(params, self.state.algorithms)
        exclude = descriptors(req, P.EXCLUDE_LIST, "excludeList")
        ext = optional(req, P.EXTENSIONS, dict, "extensions")
        opts = options(req, P.OPTIONS)
        enterprise = self._enterprise(req.get(P.ENTERPRISE_ATTESTATION), rp_id)
        if opts.get("up") is False:
            raise CtapStatus(ERR.INVALID_OPTION, "makeCredential always needs user presence")
        rk = opts.get("rk", False)
        rph = rp_hash(rp_id)
        if rk and self.store.remaining == 0 and not self.store.replaces(rph, user_id):
            raise CtapStatus(ERR.KEY_STORE_FULL)

        uv = self.checks.authorize(req.get(P.PIN_UV_AUTH_PARAM), req.get(P.PIN_UV_AUTH_PROTOCOL), rp_id, cdh,
                                   Permission.MAKE_CREDENTIAL, opts.get("uv", False), event, keepalive)
        uv = self.checks.enforce_always_uv(uv, event, keepalive)
        if self.checks.protected and not uv and rk:
            raise CtapStatus(ERR.PUAT_REQUIRED, "a discoverable credential needs user verification")

        for cid in exclude:
            excluded = self.store.find(cid, rph)
            if excluded is not None and not (excluded.cred_protect == 3 and not uv):
                self.checks.user_presence(event, keepalive)
                raise CtapStatus(ERR.CREDENTIAL_EXCLUDED)

        mc_ext = self.extensions.make_credential(ext, rp_id, rk)
        self.checks.user_presence(event, keepalive)

        key = keys.generate(alg)
        created = max([self.now()] + [c.created + 1e-6 for c in self.state.resident])
        cred = wrap(self.state.master_key, CredentialRecord(
            credential_id=b"", rp_id_hash=rph, alg=alg, private=self.store.private_handle(key), resident=rk,
            cred_protect=mc_ext.cred_protect, cred_blob=mc_ext.cred_blob, hmac_secret=mc_ext.hmac_secret,
            rp_id=rp_id, large_blob_key=mc_ext.large_blob_key, created=created,
            user={k: user[k] for k in USER_FIELDS if k in user} if rk else {}, backup=self.state.backup,
        ))
        if rk:
            self.store.add_resident(cred)
        self.store.mark_dirty()
        self.extensions.hmac_secret_mc(cred, ext, uv, mc_ext.outputs)

        flags = (FLAG.UP | FLAG.AT | (FLAG.UV if uv else 0) | (FLAG.ED if mc_ext.outputs else 0)
                 | cred.backup.flags)
        acd = AttestedCredentialData.create(self.state.aaguid, cred.credential_id, key.cose)  # type: ignore[arg-type]
        counter = self.store.counter(cred.credential_id, False)
        auth_data = bytes(AuthenticatorData.create(rph, FLAG(flags), counter, acd, mc_ext.outputs or None))
        auth_data, bend = self.tamper(auth_data)  # relying-party faults, if any are injected
        mode, cert = ((AttestationMode.BATCH, self.state.enterprise) if enterprise
                      else (self.state.attestation, self.state.batch))
        fmt, stmt = attestation.statement(mode, auth_data, cdh, key, cert)
        if "sig" in stmt:
            stmt["sig"] = bend(stmt["sig"])
        return response(AttestationResponse, fmt=fmt, auth_data=auth_data, att_stmt=stmt,
                        ep_att=True if enterprise else None, large_blob_key=mc_ext.large_blob_key)

    def _enterprise(self, value: object, rp_id: str) -> bool:
        """Does this request get enterprise attestation (CTAP 2.1 §6.1.2 step 3, §7.1)?"""
        if value is None:
            return False
        if not isinstance(value, int) or isinstance(value, bool):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "enterpriseAttestation")
        if self.state.enterprise is None or not self.state.ep:
            raise CtapStatus(ERR.INVALID_PARAMETER, "enterprise attestation is not enabled")
        if value not in (1, 2):
            raise CtapStatus(ERR.INVALID_OPTION, "enterpriseAttestation must be 1 or 2")
        return value == 2 or rp_id in self.state.ep_rp_ids  # 1: vendor-facilitated, listed RPs only
