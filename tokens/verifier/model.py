"""Records of the verifier: credentials, drift observations and the results of each operation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from enum import Enum, unique
from typing import Any

from ..otp import Algorithm
from ..params import OtpParams, OtpType
from ._records import fast_init


@unique
class Kind(str, Enum):
    TOTP = "totp"
    HOTP = "hotp"


@unique
class Status(str, Enum):
    PENDING = "pending"  # registered, waiting for enable() with two consecutive codes
    ACTIVE = "active"  # verify() accepts codes
    DISABLED = "disabled"  # permanently refused


@unique
class Reason(str, Enum):
    OK = "ok"
    INVALID = "invalid"  # no code in the window matched
    REPLAYED = "replayed"  # the matched step/counter was already used
    LOCKED = "locked"  # too many failures; an administrator must unlock
    THROTTLED = "throttled"  # backing off; the code was not even looked at
    NOT_ENABLED = "not_enabled"  # pending or disabled credential
    UNKNOWN = "unknown"  # no such serial
    NOT_FOUND = "not_found"  # enable/resync: the first code is nowhere in the search window
    NOT_CONSECUTIVE = "not_consecutive"  # enable/resync: the second code does not follow the first
    ALREADY_ACTIVE = "already_active"  # enable on a credential that is not pending


@dataclass(frozen=True)
class Credential:
    """One registered token, as the store keeps it.

    ``last_step`` is the last accepted TOTP step or HOTP counter (None before the first one);
    ``offset_steps`` the token's offset (device step minus verifier step) at the last success;
    for HOTP ``counter`` is the next counter expected before enrollment.
    """

    serial: str
    kind: Kind
    secret: bytes = field(repr=False)
    algorithm: Algorithm = Algorithm.SHA1
    digits: int = 6
    period: int = 30
    t0: float = 0.0
    counter: int = 0
    status: Status = Status.PENDING
    last_step: int | None = None
    offset_steps: int = 0
    failures: int = 0
    throttle_until: float = 0.0
    locked: bool = False
    resync_hint_step: int | None = None  # auto-resync: first out-of-window step seen
    resync_hint_at: float | None = None
    rate_hint_ppm: float = 0.0  # drift rate carried over the last resync (the crystal did not change)
    rate_hint_sd_ppm: float = 0.0  # its standard error then (0: not recorded, the policy's is used)
    issuer: str = ""
    account: str = ""
    created_at: float = 0.0
    enabled_at: float | None = None
    last_used_at: float | None = None
    last_failure_at: float | None = None
    updated_at: float = 0.0

    def evolve(self, **changes: Any) -> Credential:
        """A copy with ``changes`` (what :func:`dataclasses.replace` does, without re-running
        ``__init__``: the record has no ``__post_init__``, and this runs several times per verify
        on the memory store).  Unknown field names are refused like ``replace`` refuses them."""
        if not changes.keys() <= _CRED_FIELDS:
            return replace(self, **changes)  # raises the TypeError replace raises
        new = object.__new__(Credential)
        d = new.__dict__
        d.update(self.__dict__)
        d.update(changes)
        return new

    def params(self) -> OtpParams:
        """The token's parameters as the one OTP record (``counter`` is the registered next counter)."""
        return OtpParams(OtpType(self.kind.value), self.secret, self.algorithm, self.digits, self.period,
                         self.counter, self.t0, self.issuer, self.account)

    def to_dict(self) -> dict[str, Any]:
        """Everything except the secret."""
        return {
            "serial": self.serial, "kind": self.kind.value, "algorithm": self.algorithm.value,
            "digits": self.digits, "period": self.period if self.kind is Kind.TOTP else None,
            "counter": self.counter if self.kind is Kind.HOTP else None,
            "status": self.status.value, "last_step": self.last_step, "offset_steps": self.offset_steps,
            "rate_hint_ppm": self.rate_hint_ppm if self.kind is Kind.TOTP else None,
            "rate_hint_sd_ppm": self.rate_hint_sd_ppm if self.kind is Kind.TOTP else None,
            "failures": self.failures, "throttle_until": self.throttle_until or None,
            "locked": self.locked, "issuer": self.issuer, "account": self.account,
            "created_at": self.created_at, "enabled_at": self.enabled_at,
            "last_used_at": self.last_used_at, "last_failure_at": self.last_failure_at,
            "updated_at": self.updated_at,
        }


_CRED_FIELDS = frozenset(f.name for f in fields(Credential))


@fast_init
@dataclass(frozen=True)
class Observation:
    """One success: at reference time ``at`` the token showed step (HOTP: counter) ``step``."""

    at: float
    step: int
    offset_steps: int


@dataclass(frozen=True)
class ThrottleState:
    """Failure bookkeeping after a failure was recorded."""

    failures: int
    throttle_until: float
    locked: bool


@fast_init
@dataclass(frozen=True)
class VerifyResult:
    """What verify() says.  ``retry_after`` is the remaining back-off (s) when throttled;
    ``auth_time`` the time of a successful authentication (for MFA-age checks)."""

    ok: bool
    reason: Reason
    serial: str
    step: int | None = None
    offset_steps: int | None = None
    retry_after: float = 0.0
    auth_time: float | None = None
    window: tuple[int, int] | None = None  # first and last step (counter) looked at
    predicted_offset: float | None = None  # steps, continuous (TOTP)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason.value, "serial": self.serial, "step": self.step,
                "offset_steps": self.offset_steps, "retry_after": round(self.retry_after, 3),
                "auth_time": self.auth_time,
                "window": list(self.window) if self.window else None,
                "predicted_offset": None if self.predicted_offset is None
                else round(self.predicted_offset, 4)}


@dataclass(frozen=True)
class SyncResult:
    """What enable() and resync() say: the step of the *second* code and the offset found."""

    ok: bool
    reason: Reason
    serial: str
    step: int | None = None
    offset_steps: int | None = None
    retry_after: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason.value, "serial": self.serial, "step": self.step,
                "offset_steps": self.offset_steps, "retry_after": round(self.retry_after, 3)}
