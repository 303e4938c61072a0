"""authenticatorGetInfo (CTAP 2.1 §6.4): what this authenticator supports, as python-fido2's ``Info``."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from fido2.ctap2.base import Info

from ..checks import UserChecks
from ..limits import MAX_CRED_BLOB, MAX_CRED_ID_LENGTH, MAX_CREDS_IN_LIST, MAX_LARGE_BLOB, MAX_MSG_SIZE
from ..state import AuthenticatorState, UvMode
from ..store import CredentialStore
from ..user import KeepAlive
from ..wire import response

VERSIONS = ["U2F_V2", "FIDO_2_0", "FIDO_2_1"]
EXTENSIONS = ["credBlob", "credProtect", "hmac-secret", "hmac-secret-mc", "largeBlobKey", "minPinLength"]


class GetInfo:
    def __init__(self, state: AuthenticatorState, store: CredentialStore, checks: UserChecks) -> None:
        self.state, self.store, self.checks = state, store, checks

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None = None,
                 keepalive: KeepAlive | None = None) -> dict[int, Any]:
        st = self.state
        options: dict[str, bool] = {
            "rk": True, "up": True, "plat": False, "clientPin": st.pin_hash is not None,
            "pinUvAuthToken": True, "credMgmt": True, "largeBlobs": True, "makeCredUvNotRqd": True,
        }
        if st.uv is not UvMode.NONE:
            options["uv"] = True
        return response(
            Info, versions=VERSIONS, extensions=EXTENSIONS, aaguid=st.aaguid, options=options,
            max_msg_size=MAX_MSG_SIZE, pin_uv_protocols=[2, 1], max_creds_in_list=MAX_CREDS_IN_LIST,
            max_cred_id_length=MAX_CRED_ID_LENGTH, transports=["usb"],
            algorithms=[{"alg": int(a), "type": "public-key"} for a in st.algorithms],
            max_large_blob=MAX_LARGE_BLOB, force_pin_change=st.force_pin_change,
            min_pin_length=st.min_pin_length, firmware_version=1, max_cred_blob_length=MAX_CRED_BLOB,
            remaining_disc_creds=self.store.remaining)
