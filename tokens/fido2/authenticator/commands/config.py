"""authenticatorConfig (CTAP 2.1 §6.11): enableEnterpriseAttestation, toggleAlwaysUv, setMinPINLength.

Every call needs a pinUvAuthToken with the ``acfg`` permission over
``32 x 0xff || 0x0d || subCommand || subCommandParams`` — except on an authenticator with no user
verification configured and alwaysUv off, which accepts the call unauthenticated (§6.11 step 3).
setMinPINLength never lowers the minimum; raising it above the current PIN's length (or forceChangePin)
sets forcePINChange, and then no token is issued until the PIN is changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from fido2 import cbor
from fido2.ctap2.base import Ctap2
from fido2.ctap2.config import Config

from ...errors import ERR, CtapStatus
from ..checks import UserChecks
from ..limits import MAX_PIN_BYTES
from ..params import optional, required
from ..pinauth import Permission, PinUvAuth
from ..state import AuthenticatorState
from ..user import KeepAlive
from ..wire import SubCommandParam as S

CMD, PARAM = Config.CMD, Config.PARAM
_MAC_PREFIX = b"\xff" * 32 + bytes([Ctap2.CMD.CONFIG])


class AuthenticatorConfig:
    def __init__(self, state: AuthenticatorState, checks: UserChecks, pin: PinUvAuth,
                 on_change: Callable[[], None]) -> None:
        self.state, self.checks, self.pin, self.on_change = state, checks, pin, on_change

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None = None,
                 keepalive: KeepAlive | None = None) -> dict[int, Any]:
        sub: int = required(req, S.SUB_COMMAND, int, "subCommand")
        params: dict[int, Any] | None = optional(req, S.SUB_COMMAND_PARAMS, dict, "subCommandParams")
        if sub not in (CMD.ENABLE_ENTERPRISE_ATT, CMD.TOGGLE_ALWAYS_UV, CMD.SET_MIN_PIN_LENGTH):
            raise CtapStatus(ERR.INVALID_SUBCOMMAND)
        param = req.get(S.PIN_UV_AUTH_PARAM)
        if self.checks.protected or self.state.always_uv or param is not None:
            if param is None:
                raise CtapStatus(ERR.PUAT_REQUIRED)
            message = _MAC_PREFIX + bytes([sub]) + (cbor.encode(params) if params is not None else b"")
            self.pin.verify_token(req.get(S.PIN_UV_AUTH_PROTOCOL), param, message,
                                  Permission.AUTHENTICATOR_CFG, None)
        if sub == CMD.ENABLE_ENTERPRISE_ATT:
            if self.state.enterprise is None:
                raise CtapStatus(ERR.INVALID_PARAMETER, "no enterprise attestation on this authenticator")
            self.state.ep = True
        elif sub == CMD.TOGGLE_ALWAYS_UV:
            self.state.always_uv = not self.state.always_uv
        else:
            self._set_min_pin_length(params or {})
        self.on_change()
        return {}

    def _set_min_pin_length(self, p: Mapping[int, Any]) -> None:
        st = self.state
        new_min: int | None = optional(p, PARAM.NEW_MIN_PIN_LENGTH, int, "newMinPINLength")
        rp_ids: list[Any] | None = optional(p, PARAM.MIN_PIN_LENGTH_RPIDS, list, "minPinLengthRPIDs")
        force: bool | None = optional(p, PARAM.FORCE_CHANGE_PIN, bool, "forceChangePin")
        if rp_ids is not None and not all(isinstance(r, str) for r in rp_ids):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "minPinLengthRPIDs")
        if new_min is not None and (new_min < st.min_pin_length or new_min > MAX_PIN_BYTES):
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, "the minimum PIN length can only grow (up to 63)")
        if rp_ids is not None and len(rp_ids) > st.spec.max_rpids_for_min_pin:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, f"at most {st.spec.max_rpids_for_min_pin} RP IDs")
        if force and st.pin_hash is None:
            raise CtapStatus(ERR.PIN_NOT_SET)
        if new_min is not None:
            st.min_pin_length = new_min
        if rp_ids is not None:
            st.min_pin_rp_ids = list(rp_ids)
        if force or (st.pin_hash is not None and st.pin_length < st.min_pin_length):
            st.force_pin_change = True
            self.pin.revoke()
