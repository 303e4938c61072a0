"""authenticatorGetInfo (CTAP 2.1 §6.4): what this authenticator supports, as python-fido2's ``Info``,
shaped by its key model (:mod:`..models`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from fido2.ctap2.base import Info

from ..models import UV_FINGERPRINT, Model
from ..state import AuthenticatorState, UvMode
from ..store import CredentialStore
from ..user import KeepAlive
from ..wire import response

CTAP21 = "FIDO_2_1"
CTAP21_PRE = "FIDO_2_1_PRE"


def options(model: Model, state: AuthenticatorState) -> dict[str, bool]:
    """getInfo options: the model's features, with the live state (PIN set, UV enrolled)."""
    ctap21 = CTAP21 in model.versions
    opts: dict[str, bool] = {"rk": True, "up": True, "plat": False, "clientPin": state.pin_hash is not None}
    if state.uv is not UvMode.NONE or model.bio_enroll:
        opts["uv"] = state.uv is not UvMode.NONE  # present (false) when a sensor waits for a finger
    if model.bio_enroll and ctap21:
        opts["bioEnroll"] = bool(state.bio_templates)
    if model.bio_enroll and CTAP21_PRE in model.versions:
        opts["userVerificationMgmtPreview"] = bool(state.bio_templates)
    if ctap21:
        opts["pinUvAuthToken"] = True
        opts["credMgmt"] = True
        opts["makeCredUvNotRqd"] = model.make_cred_uv_not_required
    if model.credential_mgmt_preview and (ctap21 or CTAP21_PRE in model.versions):
        opts["credentialMgmtPreview"] = True
    if model.max_large_blob and (ctap21 or CTAP21_PRE in model.versions):
        opts["largeBlobs"] = True
    if model.config and ctap21:
        opts["authnrCfg"] = True
        opts["alwaysUv"] = state.always_uv
        opts["setMinPINLength"] = True
        if state.always_uv:
            opts["makeCredUvNotRqd"] = False
        if model.enterprise_attestation and state.enterprise is not None:
            opts["ep"] = state.ep
    return opts


class GetInfo:
    def __init__(self, state: AuthenticatorState, store: CredentialStore) -> None:
        self.state, self.store = state, store

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None = None,
                 keepalive: KeepAlive | None = None) -> dict[int, Any]:
        st, m = self.state, self.state.spec
        ctap21 = CTAP21 in m.versions or CTAP21_PRE in m.versions
        return response(
            Info, versions=list(m.versions), extensions=list(m.extensions), aaguid=st.aaguid,
            options=options(m, st), max_msg_size=m.max_msg_size, pin_uv_protocols=list(m.pin_uv_protocols),
            max_creds_in_list=m.max_creds_in_list, max_cred_id_length=m.max_cred_id_length,
            transports=list(m.transports),
            algorithms=[{"alg": int(a), "type": "public-key"} for a in st.algorithms],
            max_large_blob=m.max_large_blob or None,
            force_pin_change=st.force_pin_change if ctap21 else None,
            min_pin_length=st.min_pin_length if ctap21 else None, firmware_version=m.firmware_version,
            max_cred_blob_length=m.max_cred_blob if "credBlob" in m.extensions else None,
            max_rpids_for_min_pin=m.max_rpids_for_min_pin if "minPinLength" in m.extensions else None,
            preferred_platform_uv_attempts=m.preferred_platform_uv_attempts or None,
            uv_modality=UV_FINGERPRINT if m.built_in_uv or m.bio_enroll else None,
            remaining_disc_creds=self.store.remaining if ctap21 else None)
