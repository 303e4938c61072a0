"""The authenticator core: CTAP2 request bytes in, status byte + canonical CBOR out.  No I/O.

``Authenticator.process(request, event, keepalive)`` takes the CTAPHID.CBOR payload (command byte +
CBOR map) and always returns a response: ``0x00 + cbor.encode(map)`` on success, a single CTAP2 status
byte on failure.  Malformed or non-canonical CBOR is CTAP2_ERR_INVALID_CBOR; anything unexpected
becomes CTAP1_ERR_OTHER instead of an exception, so a fuzzed request can never crash a transport.

Command handlers live in small modules (makecred, getassert, credmgmt, largeblobs, clientpin, u2f);
this module holds what they share: credential lookup, counters, user presence, pinUvAuth checks.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Any

from ..clock import Clock, SystemClock
from . import _cbor, keys
from .clientpin import ClientPin, Perm
from .credentials import Credential, counter_key, unwrap
from .errors import ERR, CtapStatus
from .faults import KeySigner, Signer
from .keys import Alg, KeyPair
from .state import AuthenticatorState, CounterMode, UvMode
from .user import AutoApprove, Biometric, KeepAlive, Presence

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[int, Any], "threading.Event | None", "KeepAlive | None"],
                   "Mapping[Any, Any] | None"]

MAX_MSG_SIZE = 1200
MAX_CREDS_IN_LIST = 8
MAX_CRED_ID_LENGTH = 128
MAX_CRED_BLOB = 32
MAX_LARGE_BLOB = 4096
EXTENSIONS = ["credBlob", "credProtect", "hmac-secret", "hmac-secret-mc", "largeBlobKey", "minPinLength"]


@unique
class Cmd(IntEnum):
    MAKE_CREDENTIAL = 0x01
    GET_ASSERTION = 0x02
    GET_INFO = 0x04
    CLIENT_PIN = 0x06
    RESET = 0x07
    GET_NEXT_ASSERTION = 0x08
    CREDENTIAL_MGMT = 0x0A
    SELECTION = 0x0B
    LARGE_BLOBS = 0x0C


@dataclass
class Pending:
    """Credentials left for authenticatorGetNextAssertion."""

    rp_id_hash: bytes
    client_data_hash: bytes
    rest: list[Credential]
    up: bool
    uv: bool
    extensions: Mapping[str, Any] | None
    at: float


def decode_request(body: bytes) -> Mapping[int, Any]:
    """The parameter map of a CTAP2 request; INVALID_CBOR unless well-formed and canonical."""
    if not body:
        return {}
    try:
        value = _cbor.decode_canonical(body)
    except (ValueError, UnicodeDecodeError):
        raise CtapStatus(ERR.INVALID_CBOR) from None
    if not isinstance(value, dict) or not all(isinstance(k, int) and not isinstance(k, bool) for k in value):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "request must be a map with integer keys")
    return value


class Authenticator:
    """A CTAP 2.1 authenticator in software.

    presence   who answers touch requests (AutoApprove, Deny, WaitThenTimeout, Scripted)
    biometric  the built-in UV sensor (used when ``state.uv`` is not NONE)
    clock      for the getNextAssertion timer and the reset window after power-up
    reset_window  seconds after power-up during which authenticatorReset is allowed (None: always)
    """

    def __init__(self, state: AuthenticatorState | None = None, *, presence: Presence | None = None,
                 biometric: Biometric | None = None, clock: Clock | None = None,
                 reset_window: float | None = 10.0) -> None:
        self.state = state or AuthenticatorState.new()
        self.presence: Presence = presence or AutoApprove()
        self.biometric = biometric or Biometric(match=self.state.uv is UvMode.AUTO)
        self.clock: Clock = clock or SystemClock()
        self.reset_window = reset_window
        self.signer: Signer = KeySigner()
        self.dirty = False
        self.pin = ClientPin(self.state, self.biometric, self.mark_dirty, now=lambda: self.clock.now())
        self._keys: OrderedDict[bytes, KeyPair] = OrderedDict()
        self._unwrapped: OrderedDict[tuple[bytes, bytes], Credential] = OrderedDict()
        self._lock = threading.RLock()
        self.power_cycle()
        from . import credmgmt, getassert, largeblobs, makecred

        self._handlers: dict[int, Handler] = {
            Cmd.MAKE_CREDENTIAL: lambda r, e, k: makecred.make_credential(self, r, e, k),
            Cmd.GET_ASSERTION: lambda r, e, k: getassert.get_assertion(self, r, e, k),
            Cmd.GET_NEXT_ASSERTION: lambda r, e, k: getassert.get_next_assertion(self, r),
            Cmd.GET_INFO: lambda r, e, k: self.get_info(),
            Cmd.CLIENT_PIN: lambda r, e, k: self.pin.handle(r),
            Cmd.RESET: self._reset,
            Cmd.SELECTION: self._selection,
            Cmd.CREDENTIAL_MGMT: lambda r, e, k: self.credmgmt.handle(r),
            Cmd.LARGE_BLOBS: lambda r, e, k: self.largeblobs.handle(r),
        }
        self.credmgmt = credmgmt.CredentialManagement(self)
        self.largeblobs = largeblobs.LargeBlobs(self)

    # -- lifecycle -----------------------------------------------------------------------------------
    def power_cycle(self) -> None:
        """Unplug and replug: volatile PIN state, tokens and pending operations are gone."""
        self.pin.power_cycle()
        self.pending: Pending | None = None
        self.powered_at = self.clock.now()
        if hasattr(self, "credmgmt"):
            self.credmgmt.reset_enumeration()
            self.largeblobs.abort()

    def mark_dirty(self) -> None:
        self.dirty = True

    def clone(self) -> Authenticator:
        """A second authenticator with the same keys and counters (a cloned key): once the original
        signs again, the clone's counters lag behind and a correct RP sees them go backwards."""
        return Authenticator(copy.deepcopy(self.state), presence=self.presence, clock=self.clock,
                             reset_window=self.reset_window)

    # -- the one entry point ---------------------------------------------------------------------------
    def process(self, request: bytes, event: threading.Event | None = None,
                keepalive: KeepAlive | None = None) -> bytes:
        with self._lock:
            try:
                if not request:
                    raise CtapStatus(ERR.INVALID_LENGTH, "empty request")
                if len(request) > MAX_MSG_SIZE:
                    raise CtapStatus(ERR.REQUEST_TOO_LARGE)
                handler = self._handlers.get(request[0])
                if handler is None:
                    raise CtapStatus(ERR.INVALID_COMMAND, f"command 0x{request[0]:02x}")
                params = decode_request(request[1:])
                if request[0] != Cmd.GET_NEXT_ASSERTION:
                    self.pending = None
                result = handler(params, event, keepalive)
            except CtapStatus as e:
                log.debug("CTAP status %s", e)
                return bytes([e.code])
            except Exception:  # never let a request crash the device
                log.exception("authenticator failed on command 0x%02x", request[0])
                return bytes([ERR.OTHER])
            return b"\x00" if result is None else b"\x00" + _cbor.encode(dict(result))

    # -- shared helpers ----------------------------------------------------------------------------------
    def get_info(self) -> dict[int, Any]:
        st = self.state
        options: dict[str, bool] = {
            "rk": True, "up": True, "plat": False, "clientPin": st.pin_hash is not None,
            "pinUvAuthToken": True, "credMgmt": True, "largeBlobs": True, "makeCredUvNotRqd": True,
        }
        if st.uv is not UvMode.NONE:
            options["uv"] = True
        return {
            1: ["U2F_V2", "FIDO_2_0", "FIDO_2_1"], 2: EXTENSIONS, 3: st.aaguid, 4: options,
            5: MAX_MSG_SIZE, 6: [2, 1], 7: MAX_CREDS_IN_LIST, 8: MAX_CRED_ID_LENGTH, 9: ["usb"],
            10: [{"alg": int(a), "type": "public-key"} for a in st.algorithms], 11: MAX_LARGE_BLOB,
            12: st.force_pin_change, 13: st.min_pin_length, 14: 1, 15: MAX_CRED_BLOB,
            20: max(0, st.capacity - len(st.resident)),
        }

    @property
    def protected(self) -> bool:
        """Is some form of user verification configured (PIN set or biometric enrolled)?"""
        return self.state.pin_hash is not None or self.state.uv is not UvMode.NONE

    def user_presence(self, event: threading.Event | None, keepalive: KeepAlive | None) -> None:
        self.presence.request(event, keepalive).check()

    def authorize(self, req: Mapping[int, Any], param_key: int, rp_id: str, client_data_hash: bytes,
                  perm: Perm, uv_option: bool, event: threading.Event | None,
                  keepalive: KeepAlive | None) -> bool:
        """Check pinUvAuthParam (or run built-in UV for the uv option); True if the user is verified."""
        param = req.get(param_key)
        if param is not None:
            if not isinstance(param, bytes):
                raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "pinUvAuthParam")
            if not param:  # a pre-2.1 platform asking the user to pick this authenticator
                self.user_presence(event, keepalive)
                raise CtapStatus(ERR.PIN_INVALID if self.state.pin_hash else ERR.PIN_NOT_SET)
            self.pin.verify_token(req.get(param_key + 1), param, client_data_hash, perm, rp_id)
            return True
        if uv_option:
            if self.state.uv is UvMode.NONE:
                raise CtapStatus(ERR.INVALID_OPTION, "no built-in user verification")
            self.pin.built_in_uv()
            return True
        return False

    def find(self, credential_id: bytes, rp_id_hash: bytes) -> Credential | None:
        """The credential with this ID for this RP, if this authenticator made it (and kept it)."""
        memo = (credential_id, rp_id_hash)
        cred = self._unwrapped.get(memo)
        if cred is None:
            cred = unwrap(self.state.master_key, credential_id, rp_id_hash)
            if cred is None:
                return None
            if cred.alg is Alg.RS256 and cred.private.hex() not in self.state.rsa_keys:
                return None
            self._unwrapped[memo] = cred
            if len(self._unwrapped) > 256:
                self._unwrapped.popitem(last=False)
        if cred.resident:
            for c in self.state.resident:
                if c.credential_id == credential_id:
                    return c
            return None
        return cred

    def residents(self, rp_id_hash: bytes) -> list[Credential]:
        found = [c for c in self.state.resident if c.rp_id_hash == rp_id_hash]
        return sorted(found, key=lambda c: c.created, reverse=True)

    def keypair(self, cred: Credential) -> KeyPair:
        kp = self._keys.get(cred.credential_id)
        if kp is None:
            if cred.alg is Alg.RS256:
                kp = keys.load(Alg.RS256, bytes.fromhex(self.state.rsa_keys[cred.private.hex()]))
            else:
                kp = cred.keypair()
            self._keys[cred.credential_id] = kp
            if len(self._keys) > 256:
                self._keys.popitem(last=False)
        return kp

    def counter(self, credential_id: bytes, bump: bool) -> int:
        st = self.state
        if st.counter_mode is CounterMode.ZERO:
            return 0
        if st.counter_mode is CounterMode.GLOBAL:
            if bump:
                st.global_counter += 1
                self.dirty = True
            return st.global_counter
        key = counter_key(credential_id)
        value = st.counters.get(key, 0) + (1 if bump else 0)
        if bump:
            st.counters[key] = value
            self.dirty = True
        return value

    # -- small commands ----------------------------------------------------------------------------------
    def _reset(self, req: Mapping[int, Any], event: threading.Event | None,
               keepalive: KeepAlive | None) -> None:
        if self.reset_window is not None and self.clock.now() - self.powered_at > self.reset_window:
            raise CtapStatus(ERR.NOT_ALLOWED, "reset only within 10 s of power-up")
        self.user_presence(event, keepalive)
        self.state.wipe()
        self._keys.clear()
        self._unwrapped.clear()
        self.power_cycle()
        self.dirty = True

    def _selection(self, req: Mapping[int, Any], event: threading.Event | None,
                   keepalive: KeepAlive | None) -> None:
        self.user_presence(event, keepalive)
