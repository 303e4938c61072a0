"""The one Device interface every tokensim device family implements.

A *device* is something that holds credentials and proves possession of them: a virtual TOTP/HOTP
token, the software FIDO2 authenticator, a serial-attached hardware token (simulated or real), a
real USB FIDO2 key.  Scripts written against :class:`Device` run unchanged against each of them:

    with device:
        enrollment = device.enroll(EnrollRequest(account="alice", rp_id="example.com"))
        auth = device.authenticate(AuthRequest(at=clock.now(), credential_id=enrollment.credential_id))

``enroll`` creates (or provisions) a credential and returns what a verifier/relying party must
store; ``authenticate`` produces a proof (an OTP code, or a FIDO2 assertion) for that credential;
``reset`` wipes every credential (factory reset); ``close`` releases the transport.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntFlag, unique
from types import TracebackType
from typing import Any

from .errors import DeviceClosedError


@unique
class DeviceKind(str, Enum):
    TOTP = "totp"  # time-based OTP token (virtual or hardware)
    HOTP = "hotp"  # counter-based OTP token
    FIDO2 = "fido2"  # CTAP2 authenticator (software or USB key)
    SERIAL = "serial"  # multi-slot OTP token reached over a serial port


class Capability(IntFlag):
    NONE = 0
    TOTP = 1 << 0  # produces time-based codes
    HOTP = 1 << 1  # produces counter-based codes
    CLOCK = 1 << 2  # has its own (drifting) clock
    SET_TIME = 1 << 3  # its clock can be set
    SLOTS = 1 << 4  # several credentials addressed by slot number
    BUTTON = 1 << 5  # needs a (simulated) button press / touch
    PIN = 1 << 6  # supports a PIN
    FIDO2 = 1 << 7  # CTAP2 makeCredential/getAssertion
    U2F = 1 << 8  # CTAP1/U2F register/authenticate
    RESIDENT_KEYS = 1 << 9  # discoverable credentials
    USER_VERIFICATION = 1 << 10  # built-in UV (biometric)
    SIMULATED = 1 << 11  # software, not real hardware
    EXPORTABLE_SECRET = 1 << 12  # the shared secret is readable from the device object (virtual only)


@dataclass(frozen=True)
class DeviceInfo:
    """What a device is and what it can do (``tokensim device probe``)."""

    identity: str  # serial number, or AAGUID (hex) for FIDO2
    kind: DeviceKind
    capabilities: Capability
    model: str
    firmware: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity, "kind": self.kind.value, "model": self.model,
            "firmware": self.firmware,
            "capabilities": [c.name for c in Capability if c and c in self.capabilities and c.name],
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class EnrollRequest:
    """Parameters for :meth:`Device.enroll`; each family reads the fields that apply to it.

    account / rp_id   OTP label account and issuer; FIDO2 user name and relying-party id
    secret            OTP seed to install (None: the device's own, or a fresh random one)
    slot              slot number on multi-slot tokens
    resident          FIDO2: discoverable credential
    options           family-specific extras (algorithm, digits, period, pin, user_id ...)
    """

    account: str = "user@tokensim"
    rp_id: str = "tokensim.test"
    secret: bytes | None = None
    slot: int = 0
    resident: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Enrollment:
    """What a verifier or relying party stores after enrollment.

    OTP devices fill ``secret`` / ``otpauth_uri`` (+ algorithm, digits, period in ``details``);
    FIDO2 devices fill ``credential_id`` and ``public_key`` (a COSE key map) and
    ``details["attestation_object"]``.
    """

    kind: DeviceKind
    device_id: str
    credential_id: bytes = b""
    secret: bytes | None = field(default=None, repr=False)
    otpauth_uri: str | None = field(default=None, repr=False)
    public_key: Mapping[int, Any] | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthRequest:
    """Parameters for :meth:`Device.authenticate`.

    at             reference time (OTP devices compute codes from their drifting clock at ``at``)
    challenge      FIDO2 clientDataHash (32 bytes); None lets the device make one
    rp_id, credential_id   which credential to use (FIDO2; OTP ignores them)
    slot           slot number on multi-slot tokens
    """

    at: float | None = None
    challenge: bytes | None = None
    rp_id: str | None = None
    credential_id: bytes | None = None
    slot: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Authentication:
    """The proof a device produced: an OTP ``code``, or a FIDO2 assertion."""

    kind: DeviceKind
    device_id: str
    code: str | None = None
    counter: int | None = None  # HOTP counter used / FIDO2 sign count
    device_time: float | None = None  # what the device's clock showed
    credential_id: bytes = b""
    authenticator_data: bytes = b""
    signature: bytes = b""
    client_data_hash: bytes = b""
    details: Mapping[str, Any] = field(default_factory=dict)


class Device(abc.ABC):
    """Abstract base of every device.  Subclasses implement the abstract members; the context
    manager and closed-state bookkeeping live here."""

    _closed: bool = False

    @property
    @abc.abstractmethod
    def identity(self) -> str:
        """Stable identity: serial number, or AAGUID hex for FIDO2 authenticators."""

    @property
    @abc.abstractmethod
    def kind(self) -> DeviceKind: ...

    @property
    @abc.abstractmethod
    def capabilities(self) -> Capability: ...

    @abc.abstractmethod
    def info(self) -> DeviceInfo:
        """Describe the device (identity, kind, capabilities, model, firmware, details)."""

    @abc.abstractmethod
    def enroll(self, request: EnrollRequest | None = None) -> Enrollment:
        """Create or provision a credential and return what the verifier must store."""

    @abc.abstractmethod
    def authenticate(self, request: AuthRequest | None = None) -> Authentication:
        """Prove possession of an enrolled credential.  Raises DeviceNotEnrolledError if none."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Factory reset: every credential is gone afterwards."""

    def close(self) -> None:
        """Release the transport.  Idempotent; later calls raise DeviceClosedError."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise DeviceClosedError(f"device {self.identity} is closed")

    def __enter__(self) -> Device:
        self._check_open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind.value} {self.identity}>"
