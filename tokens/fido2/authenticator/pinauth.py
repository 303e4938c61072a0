"""The PIN/UV auth service: key agreement, the pinUvAuthToken and built-in user verification.

Volatile state (key-agreement key, the token with its permissions and RP binding, consecutive wrong
PINs) lives here and is lost on a power cycle; the PIN hash and retry counters live in the persistent
:class:`~tokens.fido2.authenticator.state.AuthenticatorState`.  The clientPIN command
(:mod:`.commands.clientpin`) issues tokens; every other command only checks them through
:meth:`PinUvAuth.verify_token`.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.ctap2.pin import ClientPin, PinProtocol, PinProtocolV1, PinProtocolV2

from ..errors import ERR, CtapStatus
from .limits import TOKEN_LIFETIME, UV_RETRIES
from .state import AuthenticatorState, UvMode
from .user import Biometric

Permission = ClientPin.PERMISSION
COSE_ALG = 3  # the "alg" label of a COSE_Key (RFC 9052 §7.1)
ECDH_ES_HKDF_256 = -25
PROTOCOLS: dict[int, PinProtocol] = {p.VERSION: p() for p in (PinProtocolV1, PinProtocolV2)}


def protocol_for(value: object) -> PinProtocol:
    if value is None:
        raise CtapStatus(ERR.MISSING_PARAMETER, "pinUvAuthProtocol")
    if not isinstance(value, int) or isinstance(value, bool):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "pinUvAuthProtocol")
    if value not in PROTOCOLS:
        raise CtapStatus(ERR.INVALID_PARAMETER, f"unsupported pinUvAuthProtocol {value}")
    return PROTOCOLS[value]


class PinUvAuth:
    def __init__(self, state: AuthenticatorState, biometric: Biometric, on_change: Callable[[], None],
                 now: Callable[[], float]) -> None:
        self.state, self.biometric, self.on_change, self.now = state, biometric, on_change, now
        self.token_lifetime = TOKEN_LIFETIME
        self.power_cycle()

    def power_cycle(self) -> None:
        self.consecutive_fails = 0
        self._key_agreement = ec.generate_private_key(ec.SECP256R1())
        self.revoke()

    def revoke(self) -> None:
        self.token: bytes | None = None
        self.token_issued = 0.0
        self.token_protocol = 0
        self.permissions = Permission(0)
        self.token_rp_id: str | None = None
        self.token_uv = False  # obtained with built-in UV (not the PIN)

    def regenerate(self) -> None:
        """New key-agreement key (after a wrong PIN, so a captured exchange is worthless)."""
        self._key_agreement = ec.generate_private_key(ec.SECP256R1())

    # -- key agreement and message protection ------------------------------------------------------------
    def key_agreement_cose(self) -> dict[int, Any]:
        cose = dict(ES256.from_cryptography_key(self._key_agreement.public_key()))  # type: ignore[no-untyped-call]
        cose[COSE_ALG] = ECDH_ES_HKDF_256  # the algorithm CTAP 2.1 §6.5.6 names for the platform key
        return cose

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

    # -- the token ----------------------------------------------------------------------------------------
    def issue(self, protocol: PinProtocol, shared: bytes, permissions: Permission, rp_id: str | None,
              *, uv: bool = False) -> bytes:
        """A fresh token; returns it encrypted for the platform."""
        self.token, self.token_protocol, self.token_issued = os.urandom(32), protocol.VERSION, self.now()
        self.permissions, self.token_rp_id, self.token_uv = permissions, rp_id, uv
        return protocol.encrypt(shared, self.token)

    def verify_token(self, protocol_version: object, param: object, message: bytes, permission: Permission,
                     rp_id: str | None) -> None:
        protocol = protocol_for(protocol_version)
        if self.token is None or self.token_protocol != protocol.VERSION:
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "no pinUvAuthToken for this protocol")
        self.check_mac(protocol, self.token, message, param)
        if self.now() - self.token_issued > self.token_lifetime:
            self.revoke()
            raise CtapStatus(ERR.PIN_TOKEN_EXPIRED)
        if not self.permissions & permission:
            raise CtapStatus(ERR.PIN_AUTH_INVALID, "token lacks the permission")
        if rp_id is not None:
            if self.token_rp_id is not None and self.token_rp_id != rp_id:
                raise CtapStatus(ERR.PIN_AUTH_INVALID, "token bound to another RP")
            self.token_rp_id = rp_id

    # -- built-in UV ---------------------------------------------------------------------------------------
    def built_in_uv(self) -> None:
        """Run the simulated biometric; raise UV_INVALID / UV_BLOCKED on failure."""
        st = self.state
        if st.uv_retries <= 0:
            raise CtapStatus(ERR.UV_BLOCKED)
        if not self.biometric.verify(enrolled=st.uv is UvMode.AUTO):
            st.uv_retries -= 1
            self.on_change()
            raise CtapStatus(ERR.UV_BLOCKED if st.uv_retries <= 0 else ERR.UV_INVALID)
        if st.uv_retries != UV_RETRIES:
            st.uv_retries = UV_RETRIES
            self.on_change()
