"""authenticatorClientPIN, authenticator side: PIN/UV auth protocols 1 and 2 (CTAP 2.1 §6.5).

Retry semantics (§6.5.5.5): 8 retries in total; after 3 consecutive wrong PINs in one power cycle
every PIN operation answers PIN_AUTH_BLOCKED until the authenticator is power-cycled; when the total
reaches 0 the PIN is blocked for good (PIN_BLOCKED) and only a reset helps.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from fido2.ctap2.pin import ClientPin, PinProtocol

from ...errors import ERR, CtapStatus
from ..limits import MAX_CONSECUTIVE_PIN_FAILS, MAX_PIN_BYTES, PIN_BLOCK_SIZE, PIN_HASH_SIZE, PIN_RETRIES
from ..pinauth import Permission, PinUvAuth, protocol_for
from ..state import AuthenticatorState, UvMode
from ..wire import ClientPinParam as P

CMD, RESULT = ClientPin.CMD, ClientPin.RESULT
SUPPORTED_PERMISSIONS = (Permission.MAKE_CREDENTIAL | Permission.GET_ASSERTION | Permission.CREDENTIAL_MGMT
                         | Permission.LARGE_BLOB_WRITE | Permission.AUTHENTICATOR_CFG)


def _bytes(req: Mapping[int, Any], key: P) -> bytes:
    v = req.get(key)
    if v is None:
        raise CtapStatus(ERR.MISSING_PARAMETER, key.name)
    if not isinstance(v, bytes):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, key.name)
    return v


def pin_hash(pin: bytes) -> bytes:
    return hashlib.sha256(pin).digest()[:PIN_HASH_SIZE]


class ClientPinCommand:
    def __init__(self, state: AuthenticatorState, pin: PinUvAuth, on_change: Callable[[], None]) -> None:
        self.state, self.pin, self.on_change = state, pin, on_change

    def __call__(self, req: Mapping[int, Any]) -> dict[int, Any]:
        sub = req.get(P.SUB_COMMAND)
        if sub is None:
            raise CtapStatus(ERR.MISSING_PARAMETER, "subCommand")
        if not isinstance(sub, int):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "subCommand")
        if sub == CMD.GET_PIN_RETRIES:
            if self.state.pin_hash is None and self.state.spec.pin_not_set_on_get_retries:
                raise CtapStatus(ERR.PIN_NOT_SET)  # what YubiKey 5 keys answer
            return {RESULT.PIN_RETRIES: self.state.pin_retries,
                    RESULT.POWER_CYCLE_STATE: self.pin.consecutive_fails >= MAX_CONSECUTIVE_PIN_FAILS}
        if sub == CMD.GET_UV_RETRIES:
            if self.state.uv is UvMode.NONE:
                raise CtapStatus(ERR.INVALID_SUBCOMMAND, "no built-in UV")
            return {RESULT.UV_RETRIES: self.state.uv_retries}
        protocol = protocol_for(req.get(P.PIN_UV_AUTH_PROTOCOL))
        if sub == CMD.GET_KEY_AGREEMENT:
            return {RESULT.KEY_AGREEMENT: self.pin.key_agreement_cose()}
        if sub == CMD.SET_PIN:
            return self._set_pin(protocol, req)
        if sub == CMD.CHANGE_PIN:
            return self._change_pin(protocol, req)
        if sub in (CMD.GET_TOKEN_USING_PIN_LEGACY, CMD.GET_TOKEN_USING_PIN):
            return self._pin_token(protocol, req, legacy=sub == CMD.GET_TOKEN_USING_PIN_LEGACY)
        if sub == CMD.GET_TOKEN_USING_UV:
            return self._uv_token(protocol, req)
        raise CtapStatus(ERR.INVALID_SUBCOMMAND)

    def _new_pin(self, protocol: PinProtocol, shared: bytes, new_pin_enc: bytes) -> None:
        padded = self.pin.decrypt(protocol, shared, new_pin_enc, PIN_BLOCK_SIZE)
        pin = padded.rstrip(b"\0")
        try:
            length = len(pin.decode("utf-8"))
        except UnicodeDecodeError:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, "PIN is not UTF-8") from None
        if length < self.state.min_pin_length or len(pin) > MAX_PIN_BYTES:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION,
                             f"PIN must be {self.state.min_pin_length}-{MAX_PIN_BYTES} long")
        if self.state.pin_hash is not None and hmac.compare_digest(
                pin_hash(pin), self.state.pin_hash) and self.state.force_pin_change:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, "new PIN must differ")
        self.state.pin_hash = pin_hash(pin)
        self.state.pin_length, self.state.pin_retries = length, PIN_RETRIES
        self.state.force_pin_change = False
        self.pin.revoke()
        self.on_change()

    def _set_pin(self, protocol: PinProtocol, req: Mapping[int, Any]) -> dict[int, Any]:
        new_pin_enc, param = _bytes(req, P.NEW_PIN_ENC), _bytes(req, P.PIN_UV_AUTH_PARAM)
        shared = self.pin.shared_secret(protocol, req.get(P.KEY_AGREEMENT))
        if self.state.pin_hash is not None:
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "a PIN is already set; use changePIN")
        self.pin.check_mac(protocol, shared, new_pin_enc, param)
        self._new_pin(protocol, shared, new_pin_enc)
        return {}

    def _check_pin(self, protocol: PinProtocol, shared: bytes, pin_hash_enc: bytes) -> None:
        st = self.state
        if st.pin_hash is None:
            raise CtapStatus(ERR.PIN_NOT_SET)
        if st.pin_retries <= 0:
            raise CtapStatus(ERR.PIN_BLOCKED)
        if self.pin.consecutive_fails >= MAX_CONSECUTIVE_PIN_FAILS:
            raise CtapStatus(ERR.PIN_AUTH_BLOCKED, "power-cycle the authenticator")
        given = self.pin.decrypt(protocol, shared, pin_hash_enc, PIN_HASH_SIZE)  # malformed: no retry lost
        st.pin_retries -= 1
        self.on_change()
        if not hmac.compare_digest(given, st.pin_hash):
            self.pin.regenerate()
            self.pin.consecutive_fails += 1
            if st.pin_retries <= 0:
                raise CtapStatus(ERR.PIN_BLOCKED)
            if self.pin.consecutive_fails >= MAX_CONSECUTIVE_PIN_FAILS:
                raise CtapStatus(ERR.PIN_AUTH_BLOCKED, "power-cycle the authenticator")
            raise CtapStatus(ERR.PIN_INVALID, f"{st.pin_retries} retries left")
        st.pin_retries, self.pin.consecutive_fails = PIN_RETRIES, 0
        self.on_change()

    def _change_pin(self, protocol: PinProtocol, req: Mapping[int, Any]) -> dict[int, Any]:
        pin_hash_enc, new_pin_enc = _bytes(req, P.PIN_HASH_ENC), _bytes(req, P.NEW_PIN_ENC)
        param = _bytes(req, P.PIN_UV_AUTH_PARAM)
        shared = self.pin.shared_secret(protocol, req.get(P.KEY_AGREEMENT))
        if self.state.pin_hash is None:
            raise CtapStatus(ERR.PIN_NOT_SET)
        if self.state.pin_retries <= 0:
            raise CtapStatus(ERR.PIN_BLOCKED)
        self.pin.check_mac(protocol, shared, new_pin_enc + pin_hash_enc, param)
        self._check_pin(protocol, shared, pin_hash_enc)
        self._new_pin(protocol, shared, new_pin_enc)
        return {}

    def _permissions(self, req: Mapping[int, Any]) -> tuple[Permission, str | None]:
        perms, rp_id = req.get(P.PERMISSIONS), req.get(P.RP_ID)
        if perms is None:
            raise CtapStatus(ERR.MISSING_PARAMETER, "permissions")
        if not isinstance(perms, int) or (rp_id is not None and not isinstance(rp_id, str)):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "permissions / rpId")
        if perms == 0:
            raise CtapStatus(ERR.INVALID_PARAMETER, "permissions must not be 0")
        supported = SUPPORTED_PERMISSIONS if self.state.spec.config else \
            SUPPORTED_PERMISSIONS & ~Permission.AUTHENTICATOR_CFG
        if self.state.spec.bio_enroll:
            supported |= Permission.BIO_ENROLL
        if perms & ~int(supported):
            raise CtapStatus(ERR.UNAUTHORIZED_PERMISSION)
        return Permission(perms), rp_id

    def _pin_token(self, protocol: PinProtocol, req: Mapping[int, Any], legacy: bool) -> dict[int, Any]:
        pin_hash_enc = _bytes(req, P.PIN_HASH_ENC)
        if legacy:
            if P.PERMISSIONS in req or P.RP_ID in req:
                raise CtapStatus(ERR.INVALID_PARAMETER, "getPinToken takes no permissions")
            # CTAP 2.1 limits the legacy token to mc/ga; before 2.1 a pinToken could do anything
            perms = (Permission.MAKE_CREDENTIAL | Permission.GET_ASSERTION
                     if "FIDO_2_1" in self.state.spec.versions else SUPPORTED_PERMISSIONS)
            rp_id = None
        else:
            perms, rp_id = self._permissions(req)
        shared = self.pin.shared_secret(protocol, req.get(P.KEY_AGREEMENT))
        self._check_pin(protocol, shared, pin_hash_enc)
        if self.state.force_pin_change:  # YubiKey 5 answers PIN_INVALID, the spec PIN_POLICY_VIOLATION
            raise CtapStatus(ERR.PIN_INVALID if self.state.spec.force_change_pin_invalid
                             else ERR.PIN_POLICY_VIOLATION, "PIN change required")
        return {RESULT.PIN_UV_TOKEN: self.pin.issue(protocol, shared, perms, rp_id)}

    def _uv_token(self, protocol: PinProtocol, req: Mapping[int, Any]) -> dict[int, Any]:
        if self.state.uv is UvMode.NONE:
            raise CtapStatus(ERR.INVALID_SUBCOMMAND, "no built-in UV")
        perms, rp_id = self._permissions(req)
        shared = self.pin.shared_secret(protocol, req.get(P.KEY_AGREEMENT))
        self.pin.built_in_uv()
        return {RESULT.PIN_UV_TOKEN: self.pin.issue(protocol, shared, perms, rp_id, uv=True)}
