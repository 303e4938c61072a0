"""User checks shared by the commands: user presence (touch) and user verification (PIN token or
built-in UV) — CTAP 2.1 §6.1.2 / §6.2.2 "pinUvAuthParam" and "uv option" steps."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ERR, CtapStatus
from .pinauth import Permission, PinUvAuth
from .state import AuthenticatorState, UvMode
from .user import KeepAlive, Presence


class UserChecks:
    def __init__(self, state: AuthenticatorState, pin: PinUvAuth, presence: Presence) -> None:
        self.state, self.pin, self.presence = state, pin, presence

    @property
    def protected(self) -> bool:
        """Is some form of user verification configured (PIN set or biometric enrolled)?"""
        return self.state.pin_hash is not None or self.state.uv is not UvMode.NONE

    def user_presence(self, event: threading.Event | None, keepalive: KeepAlive | None) -> None:
        self.presence.request(event, keepalive).check()

    def enforce_always_uv(self, uv: bool, event: threading.Event | None, keepalive: KeepAlive | None) -> bool:
        """alwaysUv (authenticatorConfig): an operation without UV gets built-in UV or is refused."""
        if uv or not self.state.always_uv:
            return uv
        if self.state.uv is not UvMode.NONE:
            self.pin.built_in_uv()
            return True
        if self.state.pin_hash is not None:
            raise CtapStatus(ERR.PUAT_REQUIRED, "alwaysUv: user verification required")
        raise CtapStatus(ERR.PIN_NOT_SET, "alwaysUv: set a PIN first")

    def authorize(self, param: Any, protocol: Any, rp_id: str, client_data_hash: bytes,
                  permission: Permission, uv_option: bool, event: threading.Event | None,
                  keepalive: KeepAlive | None) -> bool:
        """Check pinUvAuthParam (or run built-in UV for the uv option); True if the user is verified."""
        if param is not None:
            if not isinstance(param, bytes):
                raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "pinUvAuthParam")
            if not param:  # a pre-2.1 platform asking the user to pick this authenticator
                self.user_presence(event, keepalive)
                raise CtapStatus(ERR.PIN_INVALID if self.state.pin_hash else ERR.PIN_NOT_SET)
            self.pin.verify_token(protocol, param, client_data_hash, permission, rp_id)
            return True
        if uv_option:
            if self.state.uv is UvMode.NONE:
                raise CtapStatus(ERR.INVALID_OPTION, "no built-in user verification")
            self.pin.built_in_uv()
            return True
        return False
