"""authenticatorClientPIN, authenticator side: PIN/UV auth protocols 1 and 2.

Volatile state (key-agreement key, the pinUvAuthToken with its permissions and RP binding, and the
count of consecutive wrong PINs) lives here and is lost on a power cycle; the PIN hash and retry
counter live in the persistent :class:`~tokens.fido2.state.AuthenticatorState`.

Retry semantics (CTAP 2.1 §6.5.5.5): 8 retries in total; after 3 consecutive wrong PINs in one power
cycle every PIN operation answers PIN_AUTH_BLOCKED until the authenticator is power-cycled; when the
total reaches 0 the PIN is blocked for good (PIN_BLOCKED) and only a reset helps.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from enum import IntEnum, IntFlag, unique
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fido2.ctap2.pin import PinProtocol, PinProtocolV1, PinProtocolV2

from .errors import ERR, CtapStatus
from .state import PIN_RETRIES, UV_RETRIES, AuthenticatorState, UvMode
from .user import Biometric

PROTOCOLS: dict[int, PinProtocol] = {1: PinProtocolV1(), 2: PinProtocolV2()}
MAX_CONSECUTIVE = 3
TOKEN_LIFETIME = 600.0  # seconds a pinUvAuthToken stays usable (CTAP 2.1 max usage time period)


@unique
class Sub(IntEnum):
    GET_RETRIES = 0x01
    GET_KEY_AGREEMENT = 0x02
    SET_PIN = 0x03
    CHANGE_PIN = 0x04
    GET_PIN_TOKEN = 0x05
    GET_TOKEN_USING_UV = 0x06
    GET_UV_RETRIES = 0x07
    GET_TOKEN_USING_PIN = 0x09


class Perm(IntFlag):
    MC = 0x01
    GA = 0x02
    CM = 0x04
    BE = 0x08
    LBW = 0x10
    ACFG = 0x20
    PCMR = 0x40


SUPPORTED_PERMS = Perm.MC | Perm.GA | Perm.CM | Perm.LBW


def _protocol(value: object) -> PinProtocol:
    if value is None:
        raise CtapStatus(ERR.MISSING_PARAMETER, "pinUvAuthProtocol")
    if not isinstance(value, int):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "pinUvAuthProtocol")
    if value not in PROTOCOLS:
        raise CtapStatus(ERR.INVALID_PARAMETER, f"unsupported pinUvAuthProtocol {value}")
    return PROTOCOLS[value]


def _bytes(req: Mapping[int, Any], key: int, name: str) -> bytes:
    v = req.get(key)
    if v is None:
        raise CtapStatus(ERR.MISSING_PARAMETER, name)
    if not isinstance(v, bytes):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, name)
    return v


class ClientPin:
    def __init__(self, state: AuthenticatorState, biometric: Biometric,
                 on_change: Callable[[], None] = lambda: None,
                 now: Callable[[], float] = time.time) -> None:
        self.state, self.biometric, self.on_change, self.now = state, biometric, on_change, now
        self.token_lifetime = TOKEN_LIFETIME
        self.power_cycle()

    # -- volatile state ------------------------------------------------------------------------------
    def power_cycle(self) -> None:
        self.consecutive_fails = 0
        self._key_agreement = ec.generate_private_key(ec.SECP256R1())
        self.token: bytes | None = None
        self.token_issued = 0.0
        self.token_protocol = 0
        self.permissions = Perm(0)
        self.token_rp_id: str | None = None

    def _regenerate(self) -> None:
        self._key_agreement = ec.generate_private_key(ec.SECP256R1())

    def key_agreement_cose(self) -> dict[int, Any]:
        n = self._key_agreement.public_key().public_numbers()
        return {1: 2, 3: -25, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")}

    def shared_secret(self, protocol: PinProtocol, peer: object) -> bytes:
        if not isinstance(peer, Mapping):
            raise CtapStatus(ERR.MISSING_PARAMETER if peer is None else ERR.CBOR_UNEXPECTED_TYPE,
                             "keyAgreement")
        try:
            x, y = peer[-2], peer[-3]
            pub = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                                ec.SECP256R1()).public_key()
            z = self._key_agreement.exchange(ec.ECDH(), pub)
        except (KeyError, TypeError, ValueError):
            raise CtapStatus(ERR.INVALID_PARAMETER, "bad keyAgreement key") from None
        return bytes(getattr(protocol, "kdf")(z))  # noqa: B009 - kdf is not on the abstract base

    @staticmethod
    def check_mac(protocol: PinProtocol, key: bytes, message: bytes, mac: object) -> None:
        if not isinstance(mac, bytes) or not hmac.compare_digest(protocol.authenticate(key, message), mac):
            raise CtapStatus(ERR.PIN_AUTH_INVALID)

    @staticmethod
    def decrypt(protocol: PinProtocol, key: bytes, data: bytes, size: int) -> bytes:
        want = size + (16 if protocol.VERSION == 2 else 0)
        if len(data) != want:
            raise CtapStatus(ERR.INVALID_PARAMETER, f"encrypted field must be {want} bytes")
        return protocol.decrypt(key, data)

    # -- token checks used by makeCredential / getAssertion / credMgmt / largeBlobs -------------------
    def verify_token(self, protocol_version: object, param: object, message: bytes, permission: Perm,
                     rp_id: str | None) -> None:
        protocol = _protocol(protocol_version)
        if self.token is None or self.token_protocol != protocol.VERSION:
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "no pinUvAuthToken for this protocol")
        self.check_mac(protocol, self.token, message, param)
        if self.now() - self.token_issued > self.token_lifetime:
            self.token = None
            raise CtapStatus(ERR.PIN_TOKEN_EXPIRED)
        if not self.permissions & permission:
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "token lacks the permission")
        if rp_id is not None:
            if self.token_rp_id is not None and self.token_rp_id != rp_id:
                raise CtapStatus(ERR.PIN_AUTH_INVALID, "token bound to another RP")
            self.token_rp_id = rp_id

    # -- the command -------------------------------------------------------------------------------
    def handle(self, req: Mapping[int, Any]) -> dict[int, Any]:
        sub = req.get(2)
        if sub is None:
            raise CtapStatus(ERR.MISSING_PARAMETER, "subCommand")
        if not isinstance(sub, int):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "subCommand")
        if sub == Sub.GET_RETRIES:
            return {3: self.state.pin_retries, 4: self.consecutive_fails >= MAX_CONSECUTIVE}
        if sub == Sub.GET_UV_RETRIES:
            if self.state.uv is UvMode.NONE:
                raise CtapStatus(ERR.INVALID_SUBCOMMAND, "no built-in UV")
            return {5: self.state.uv_retries}
        protocol = _protocol(req.get(1))
        if sub == Sub.GET_KEY_AGREEMENT:
            return {1: self.key_agreement_cose()}
        if sub == Sub.SET_PIN:
            return self._set_pin(protocol, req)
        if sub == Sub.CHANGE_PIN:
            return self._change_pin(protocol, req)
        if sub in (Sub.GET_PIN_TOKEN, Sub.GET_TOKEN_USING_PIN):
            return self._pin_token(protocol, req, legacy=sub == Sub.GET_PIN_TOKEN)
        if sub == Sub.GET_TOKEN_USING_UV:
            return self._uv_token(protocol, req)
        raise CtapStatus(ERR.INVALID_SUBCOMMAND)

    def _new_pin(self, protocol: PinProtocol, shared: bytes, new_pin_enc: bytes) -> None:
        padded = self.decrypt(protocol, shared, new_pin_enc, 64)
        pin = padded.rstrip(b"\0")
        try:
            length = len(pin.decode("utf-8"))
        except UnicodeDecodeError:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, "PIN is not UTF-8") from None
        if length < self.state.min_pin_length or len(pin) > 63:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, f"PIN must be {self.state.min_pin_length}-63 long")
        if self.state.pin_hash is not None and hmac.compare_digest(
                hashlib.sha256(pin).digest()[:16], self.state.pin_hash) and self.state.force_pin_change:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, "new PIN must differ")
        self.state.pin_hash = hashlib.sha256(pin).digest()[:16]
        self.state.pin_length, self.state.pin_retries = length, PIN_RETRIES
        self.state.force_pin_change = False
        self.token = None
        self.on_change()

    def _set_pin(self, protocol: PinProtocol, req: Mapping[int, Any]) -> dict[int, Any]:
        new_pin_enc, param = _bytes(req, 5, "newPinEnc"), _bytes(req, 4, "pinUvAuthParam")
        shared = self.shared_secret(protocol, req.get(3))
        if self.state.pin_hash is not None:
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "a PIN is already set; use changePIN")
        self.check_mac(protocol, shared, new_pin_enc, param)
        self._new_pin(protocol, shared, new_pin_enc)
        return {}

    def _check_pin(self, protocol: PinProtocol, shared: bytes, pin_hash_enc: bytes) -> None:
        st = self.state
        if st.pin_hash is None:
            raise CtapStatus(ERR.PIN_NOT_SET)
        if st.pin_retries <= 0:
            raise CtapStatus(ERR.PIN_BLOCKED)
        if self.consecutive_fails >= MAX_CONSECUTIVE:
            raise CtapStatus(ERR.PIN_AUTH_BLOCKED, "power-cycle the authenticator")
        given = self.decrypt(protocol, shared, pin_hash_enc, 16)  # malformed input costs no retry
        st.pin_retries -= 1
        self.on_change()
        if not hmac.compare_digest(given, st.pin_hash):
            self._regenerate()
            self.consecutive_fails += 1
            if st.pin_retries <= 0:
                raise CtapStatus(ERR.PIN_BLOCKED)
            if self.consecutive_fails >= MAX_CONSECUTIVE:
                raise CtapStatus(ERR.PIN_AUTH_BLOCKED, "power-cycle the authenticator")
            raise CtapStatus(ERR.PIN_INVALID, f"{st.pin_retries} retries left")
        st.pin_retries, self.consecutive_fails = PIN_RETRIES, 0
        self.on_change()

    def _change_pin(self, protocol: PinProtocol, req: Mapping[int, Any]) -> dict[int, Any]:
        pin_hash_enc, new_pin_enc = _bytes(req, 6, "pinHashEnc"), _bytes(req, 5, "newPinEnc")
        param = _bytes(req, 4, "pinUvAuthParam")
        shared = self.shared_secret(protocol, req.get(3))
        if self.state.pin_hash is None:
            raise CtapStatus(ERR.PIN_NOT_SET)
        if self.state.pin_retries <= 0:
            raise CtapStatus(ERR.PIN_BLOCKED)
        self.check_mac(protocol, shared, new_pin_enc + pin_hash_enc, param)
        self._check_pin(protocol, shared, pin_hash_enc)
        self._new_pin(protocol, shared, new_pin_enc)
        return {}

    def _issue(self, protocol: PinProtocol, shared: bytes, perms: Perm, rp_id: str | None) -> dict[int, Any]:
        self.token, self.token_protocol, self.token_issued = os.urandom(32), protocol.VERSION, self.now()
        self.permissions, self.token_rp_id = perms, rp_id
        return {2: protocol.encrypt(shared, self.token)}

    def _permissions(self, req: Mapping[int, Any]) -> tuple[Perm, str | None]:
        perms, rp_id = req.get(9), req.get(10)
        if perms is None:
            raise CtapStatus(ERR.MISSING_PARAMETER, "permissions")
        if not isinstance(perms, int) or (rp_id is not None and not isinstance(rp_id, str)):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "permissions / rpId")
        if perms == 0:
            raise CtapStatus(ERR.INVALID_PARAMETER, "permissions must not be 0")
        if perms & ~int(SUPPORTED_PERMS):
            raise CtapStatus(ERR.UNAUTHORIZED_PERMISSION)
        return Perm(perms), rp_id

    def _pin_token(self, protocol: PinProtocol, req: Mapping[int, Any], legacy: bool) -> dict[int, Any]:
        pin_hash_enc = _bytes(req, 6, "pinHashEnc")
        if legacy:
            if 9 in req or 10 in req:
                raise CtapStatus(ERR.INVALID_PARAMETER, "getPinToken takes no permissions")
            perms, rp_id = Perm.MC | Perm.GA, None
        else:
            perms, rp_id = self._permissions(req)
        shared = self.shared_secret(protocol, req.get(3))
        self._check_pin(protocol, shared, pin_hash_enc)
        if self.state.force_pin_change:
            raise CtapStatus(ERR.PIN_POLICY_VIOLATION, "PIN change required")
        return self._issue(protocol, shared, perms, rp_id)

    def _uv_token(self, protocol: PinProtocol, req: Mapping[int, Any]) -> dict[int, Any]:
        if self.state.uv is UvMode.NONE:
            raise CtapStatus(ERR.INVALID_SUBCOMMAND, "no built-in UV")
        perms, rp_id = self._permissions(req)
        shared = self.shared_secret(protocol, req.get(3))
        self.built_in_uv()
        return self._issue(protocol, shared, perms, rp_id)

    def built_in_uv(self) -> None:
        """Run the simulated biometric; raise UV_INVALID / UV_BLOCKED on failure."""
        st = self.state
        if st.uv_retries <= 0:
            raise CtapStatus(ERR.UV_BLOCKED)
        if not self.biometric.verify():
            st.uv_retries -= 1
            self.on_change()
            raise CtapStatus(ERR.UV_BLOCKED if st.uv_retries <= 0 else ERR.UV_INVALID)
        if st.uv_retries != UV_RETRIES:
            st.uv_retries = UV_RETRIES
            self.on_change()
