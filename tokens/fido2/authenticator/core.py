"""The authenticator core: CTAP2 request bytes in, status byte + canonical CBOR out.  No I/O.

``Authenticator.process(request, event, keepalive)`` takes the CTAPHID.CBOR payload (command byte +
CBOR map) and always returns a response: ``0x00 + cbor.encode(map)`` on success, a single CTAP2 status
byte on failure.  Malformed or non-canonical CBOR is CTAP2_ERR_INVALID_CBOR; anything unexpected
becomes CTAP1_ERR_OTHER instead of an exception, so a fuzzed request can never crash a transport.

This module only wires things up: the services (:class:`CredentialStore`, :class:`PinUvAuth`,
:class:`UserChecks`) sit below the command classes, each command gets only the services it needs, and
:attr:`Authenticator.commands` is the dispatch table.  Nothing below imports this module.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from fido2.ctap2.base import Ctap2

from ...clock import Clock, SystemClock
from ..errors import ERR, CtapStatus
from . import cbor
from .checks import UserChecks
from .commands.bio import BioEnrollmentCommand
from .commands.clientpin import ClientPinCommand
from .commands.config import AuthenticatorConfig
from .commands.credmgmt import CredentialManagement
from .commands.extensions import Extensions
from .commands.getassert import GetAssertion
from .commands.info import GetInfo
from .commands.largeblobs import LargeBlobs
from .commands.makecred import MakeCredential
from .commands.u2f import U2F
from .faults import KeySigner, Signer
from .keys import KeyPair
from .limits import RESET_WINDOW
from .pinauth import PinUvAuth
from .state import AuthenticatorState
from .store import CredentialStore
from .user import AutoApprove, Biometric, KeepAlive, Presence

log = logging.getLogger(__name__)

CMD = Ctap2.CMD
Handler = Callable[[Mapping[int, Any], "threading.Event | None", "KeepAlive | None"],
                   "Mapping[Any, Any] | None"]


def decode_request(body: bytes) -> Mapping[int, Any]:
    """The parameter map of a CTAP2 request; INVALID_CBOR unless well-formed and canonical."""
    if not body:
        return {}
    try:
        value = cbor.decode_canonical(body)
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
                 reset_window: float | None = RESET_WINDOW) -> None:
        self.state = st = state or AuthenticatorState.new()
        self.biometric = biometric or Biometric(match=None)  # matches while state.uv is AUTO
        self.clock: Clock = clock or SystemClock()
        self.reset_window = reset_window
        self.signer: Signer = KeySigner()
        self._lock = threading.RLock()
        now = self._now

        # services
        self.store = CredentialStore(st)
        self.pin = PinUvAuth(st, self.biometric, self.store.mark_dirty, now)
        self.checks = UserChecks(st, self.pin, presence or AutoApprove())
        model = st.spec
        extensions = Extensions(st, self.pin, model.max_cred_blob)
        # commands, each with only its collaborators
        self.client_pin = ClientPinCommand(st, self.pin, self.store.mark_dirty)
        self.make_credential = MakeCredential(st, self.store, self.checks, extensions, now,
                                              lambda auth_data: self.signer.tamper(auth_data))
        self.get_assertion = GetAssertion(self.store, self.checks, extensions, self._sign, now)
        self.credential_management = CredentialManagement(self.store, self.pin)
        self.large_blobs = LargeBlobs(st, self.store, self.checks, self.pin, model.max_msg_size,
                                      model.max_large_blob)
        self.get_info = GetInfo(st, self.store)
        self.config = AuthenticatorConfig(st, self.checks, self.pin, self.store.mark_dirty)
        self.bio_enrollment = BioEnrollmentCommand(st, self.checks, self.pin, self.store.mark_dirty)
        self.u2f = U2F(st, self.store, self.checks, now)
        self.commands: dict[int, Handler] = {
            CMD.MAKE_CREDENTIAL: self.make_credential,
            CMD.GET_ASSERTION: self.get_assertion,
            CMD.GET_NEXT_ASSERTION: self.get_assertion.next,
            CMD.GET_INFO: self.get_info,
            CMD.CLIENT_PIN: lambda r, e, k: self.client_pin(r),
            CMD.RESET: self._reset,
        }
        ctap21, preview = "FIDO_2_1" in model.versions, "FIDO_2_1_PRE" in model.versions
        if ctap21 or preview:
            self.commands[CMD.SELECTION] = self._selection
        if ctap21:
            self.commands[CMD.CREDENTIAL_MGMT] = self.credential_management
        if model.credential_mgmt_preview and (ctap21 or preview):  # libfido2 < 1.15 sends only 0x41
            self.commands[CMD.CREDENTIAL_MGMT_PRE] = self.credential_management
        if model.max_large_blob and (ctap21 or preview):
            self.commands[CMD.LARGE_BLOBS] = self.large_blobs
        if model.config and ctap21:
            self.commands[CMD.CONFIG] = self.config
        if model.bio_enroll and ctap21:
            self.commands[CMD.BIO_ENROLLMENT] = self.bio_enrollment
        if model.bio_enroll and (ctap21 or preview):  # libfido2 < 1.15 sends only 0x40
            self.commands[CMD.BIO_ENROLLMENT_PRE] = self.bio_enrollment
        self.max_msg_size = model.max_msg_size
        self.power_cycle()

    # -- state shared with the callers ----------------------------------------------------------------
    @property
    def presence(self) -> Presence:
        return self.checks.presence

    @presence.setter
    def presence(self, value: Presence) -> None:
        self.checks.presence = value

    @property
    def dirty(self) -> bool:
        """Has the persistent state changed since it was loaded (or since ``dirty`` was cleared)?"""
        return self.store.dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self.store.dirty = value

    def _now(self) -> float:
        return self.clock.now()  # looked up each time: callers may swap the clock

    def _sign(self, key: KeyPair, auth_data: bytes, client_data_hash: bytes) -> tuple[bytes, bytes]:
        return self.signer.sign(key, auth_data, client_data_hash)

    # -- lifecycle -----------------------------------------------------------------------------------
    def power_cycle(self) -> None:
        """Unplug and replug: volatile PIN state, tokens and pending operations are gone."""
        self.pin.power_cycle()
        self.get_assertion.pending = None
        self.powered_at = self.clock.now()
        self.credential_management.reset_enumeration()
        self.bio_enrollment.cancel()
        self.large_blobs.abort()

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
                if len(request) > self.max_msg_size:
                    raise CtapStatus(ERR.REQUEST_TOO_LARGE)
                handler = self.commands.get(request[0])
                if handler is None:
                    raise CtapStatus(ERR.INVALID_COMMAND, f"command 0x{request[0]:02x}")
                params = decode_request(request[1:])
                if request[0] != CMD.GET_NEXT_ASSERTION:
                    self.get_assertion.pending = None
                result = handler(params, event, keepalive)
            except CtapStatus as e:
                log.debug("CTAP status %s", e)
                return bytes([e.code])
            except Exception:  # never let a request crash the device
                log.exception("authenticator failed on command 0x%02x", request[0])
                return bytes([ERR.OTHER])
            return b"\x00" if result is None else b"\x00" + cbor.encode(dict(result))

    def process_u2f(self, apdu: bytes) -> bytes:
        """A U2F (CTAP1) APDU in, response + status word out (CTAPHID MSG)."""
        with self._lock:
            return self.u2f.process(apdu)

    # -- small commands ----------------------------------------------------------------------------------
    def _reset(self, req: Mapping[int, Any], event: threading.Event | None,
               keepalive: KeepAlive | None) -> None:
        if self.reset_window is not None and self.clock.now() - self.powered_at > self.reset_window:
            raise CtapStatus(ERR.NOT_ALLOWED, f"reset only within {self.reset_window:g} s of power-up")
        self.checks.user_presence(event, keepalive)
        self.state.wipe()
        self.store.forget()
        self.power_cycle()
        self.store.mark_dirty()

    def _selection(self, req: Mapping[int, Any], event: threading.Event | None,
                   keepalive: KeepAlive | None) -> None:
        self.checks.user_presence(event, keepalive)
