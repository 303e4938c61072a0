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

Records are typed per family: OTP devices return :class:`OtpEnrollment` (an
:class:`~tokens.params.OtpParams`) and :class:`OtpAuthentication`; FIDO2 devices
:class:`Fido2Enrollment` and :class:`Fido2Authentication`.  Optional capabilities are
runtime-checkable protocols — ``isinstance(dev, ConsecutiveCodes)``, :class:`HasSlots`,
:class:`Simulated` — never attribute probing.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntFlag, unique
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from .errors import DeviceClosedError
from .otp import Algorithm
from .params import OtpParams, OtpType
from .uri import OtpauthURI


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
    # descriptive extras for display and JSON (probe output); library code never reads them back:
    # typed records and the capability protocols below carry everything a caller acts on
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity, "kind": self.kind.value, "model": self.model,
            "firmware": self.firmware,
            "capabilities": [c.name for c in Capability if c and c in self.capabilities and c.name],
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class OtpOptions:
    """OTP parameters for :meth:`Device.enroll` on devices that install a seed (virtual and serial
    tokens).  ``counter`` is HOTP's first counter; ``pin`` a serial token's admin PIN (None: the
    device's own default chain)."""

    type: OtpType = OtpType.TOTP
    algorithm: Algorithm = Algorithm.SHA1
    digits: int = 6
    period: int = 30
    counter: int = 0
    pin: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", OtpType.parse(self.type))
        object.__setattr__(self, "algorithm", Algorithm.parse(self.algorithm))

    def params(self, secret: bytes, *, issuer: str = "", account: str = "") -> OtpParams:
        """The validated :class:`~tokens.params.OtpParams` these options describe for ``secret``."""
        return OtpParams(self.type, secret, self.algorithm, self.digits,
                         self.period if self.type is OtpType.TOTP else 30,
                         self.counter if self.type is OtpType.HOTP else 0, issuer=issuer, account=account)


@dataclass(frozen=True)
class Fido2Options:
    """FIDO2 extras for :meth:`Device.enroll` / :meth:`Device.authenticate`.

    algorithm          COSE algorithm id to ask for (None: the adapter's default list, ES256 then EdDSA)
    user_id            the user handle (None: derived from ``account``)
    client_data_hash   32 bytes (None: random)
    extensions         raw CTAP2 extension inputs, e.g. ``{"credProtect": 2, "credBlob": b"..."}``
    """

    algorithm: int | None = None
    user_id: bytes | None = None
    client_data_hash: bytes | None = None
    extensions: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class EnrollRequest:
    """Parameters for :meth:`Device.enroll`; each family reads the fields that apply to it.

    account / rp_id   OTP label account and issuer; FIDO2 user name and relying-party id
    secret            OTP seed to install (None: the device's own, or a fresh random one)
    slot              slot number on multi-slot tokens
    resident          FIDO2: discoverable credential
    otp               OTP parameters (type, algorithm, digits, period, counter, admin PIN)
    fido2             FIDO2 extras (algorithm, user id, client data hash, extensions)
    """

    account: str = "user@tokensim"
    rp_id: str = "tokensim.test"
    secret: bytes | None = field(default=None, repr=False)
    slot: int = 0
    resident: bool = False
    otp: OtpOptions | None = None
    fido2: Fido2Options | None = None


@dataclass(frozen=True)
class OtpEnrollment:
    """What a verifier stores after enrolling an OTP device: the credential's :class:`OtpParams`
    (secret included), and for multi-slot tokens the slot it lives in."""

    kind: DeviceKind
    device_id: str
    params: OtpParams
    slot: int | None = None

    @property
    def secret(self) -> bytes:
        return self.params.secret

    @property
    def otpauth_uri(self) -> str:
        """The otpauth:// URI (contains the secret)."""
        return OtpauthURI.from_params(self.params).to_uri()

    @property
    def credential_id(self) -> bytes:
        """``b"slotN"`` on multi-slot tokens, else empty (an OTP credential has no id of its own)."""
        return f"slot{self.slot}".encode() if self.slot is not None else b""


@dataclass(frozen=True)
class Fido2Enrollment:
    """What a relying party stores after makeCredential."""

    kind: DeviceKind
    device_id: str
    credential_id: bytes
    public_key: Mapping[int, Any]  # the COSE key map
    rp_id: str
    user_id: bytes
    attestation_object: bytes = field(repr=False)
    fmt: str
    client_data_hash: bytes = field(repr=False)
    resident: bool = False
    counter: int = 0
    extensions: Mapping[str, Any] = field(default_factory=dict)  # authenticator extension outputs


@dataclass(frozen=True)
class AuthRequest:
    """Parameters for :meth:`Device.authenticate`.

    at             reference time (OTP devices compute codes from their drifting clock at ``at``)
    challenge      FIDO2 clientDataHash (32 bytes); None lets the device make one
    rp_id, credential_id   which credential to use (FIDO2; OTP ignores them)
    slot           slot number on multi-slot tokens
    extensions     FIDO2: raw CTAP2 extension inputs for getAssertion
    """

    at: float | None = None
    challenge: bytes | None = None
    rp_id: str | None = None
    credential_id: bytes | None = None
    slot: int = 0
    extensions: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class OtpAuthentication:
    """An OTP code and what the device used to compute it.

    counter       the TOTP time step or the HOTP counter value used
    device_time   what the device's clock showed (None: an HOTP token without a valid clock)
    period        the TOTP period (None for HOTP)
    """

    kind: DeviceKind
    device_id: str
    code: str
    type: OtpType
    counter: int
    device_time: float | None = None
    period: int | None = None
    slot: int | None = None


@dataclass(frozen=True)
class Fido2Authentication:
    """A FIDO2 assertion (getAssertion)."""

    kind: DeviceKind
    device_id: str
    credential_id: bytes
    authenticator_data: bytes
    signature: bytes
    client_data_hash: bytes
    counter: int  # the signature counter
    rp_id: str
    flags: int
    user: Mapping[str, Any] | None = None  # the user entity (resident credentials)
    extensions: Mapping[str, Any] = field(default_factory=dict)  # authenticator extension outputs


#: what :meth:`Device.enroll` returns: one record per family (``isinstance`` tells them apart)
Enrollment = OtpEnrollment | Fido2Enrollment
#: what :meth:`Device.authenticate` returns
Authentication = OtpAuthentication | Fido2Authentication


@dataclass(frozen=True)
class SlotState:
    """One slot of a multi-slot token as the token reports it (never its seed)."""

    slot: int
    provisioned: bool
    type: OtpType | None = None
    algorithm: Algorithm | None = None
    digits: int | None = None
    period: int | None = None  # TOTP only


# --------------------------------------------------------------------------- optional capabilities


@runtime_checkable
class ConsecutiveCodes(Protocol):
    """Devices that compute several consecutive codes at once (virtual tokens): ``n`` codes
    starting at the current TOTP step (or the next HOTP counter, which then moves on ``n``)."""

    def consecutive(self, n: int = 2, at: float | None = None) -> list[str]: ...


@runtime_checkable
class HasSlots(Protocol):
    """Multi-slot tokens: what each slot holds (type and parameters, never the seed)."""

    def slots(self) -> list[SlotState]: ...


@runtime_checkable
class Simulated(Protocol):
    """Devices simulated in this process; ``simulator`` is the simulated hardware itself (the
    firmware of a serial token, the FIDO2 authenticator core, the virtual token), for tests to
    press buttons, age batteries or move clocks."""

    @property
    def simulator(self) -> object: ...


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

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind.value} {self.identity}>"
