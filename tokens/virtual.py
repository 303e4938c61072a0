"""Virtual OTP tokens (RFC 4226 HOTP, RFC 6238 TOTP) behind the Device interface.

A :class:`VirtualTOTP` reads time through its own :class:`~tokens.clock.DriftingClock`, so a token
can run fast, slow, hot or old; ``code(at=t)`` is what the token's display shows at reference time
``t``.  ``consecutive(n)`` returns n consecutive codes at once — enrollment flows that ask for two
consecutive codes (AWS IAM EnableMFADevice) need no 30-second wait.
"""

from __future__ import annotations

import secrets
from typing import Any, Self

from .clock import Clock, DriftingClock, DriftModel, SystemClock
from .device import (
    AuthRequest,
    Capability,
    Device,
    DeviceInfo,
    DeviceKind,
    EnrollRequest,
    OtpAuthentication,
    OtpEnrollment,
    OtpOptions,
)
from .errors import DeviceNotEnrolledError, InputError
from .hotloop import PreparedKey
from .otp import Algorithm, check_digits, check_period, decode_secret, random_secret, totp_step
from .params import OtpParams, OtpType
from .uri import OtpauthURI, parse_otpauth


def new_serial(prefix: str = "VT") -> str:
    return f"{prefix}{secrets.token_hex(5).upper()}"


class VirtualOTPDevice(Device):
    """Shared parts of virtual HOTP/TOTP tokens."""

    _kind: DeviceKind
    _type: OtpType

    def __init__(self, secret: bytes | None = None, *, algorithm: Algorithm | str = Algorithm.SHA1,
                 digits: int = 6, issuer: str = "tokensim", account: str = "user@tokensim",
                 serial: str | None = None) -> None:
        self.algorithm = Algorithm.parse(algorithm)
        self.digits = check_digits(digits)
        self.issuer = issuer
        self.account = account
        self._serial = serial or new_serial("VT" if self._type is OtpType.TOTP else "VH")
        self._secret: bytes | None = None
        self._key: PreparedKey | None = None
        self._set_secret(secret if secret is not None else random_secret())

    # -- secret handling
    def _set_secret(self, secret: bytes | None) -> None:
        if secret is not None and len(secret) < 10:
            raise InputError("a secret needs at least 80 bits")
        self._secret = bytes(secret) if secret is not None else None
        self._key = PreparedKey(self._secret, self.algorithm) if self._secret is not None else None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            raise DeviceNotEnrolledError(f"device {self._serial} holds no secret (reset)")
        return self._secret

    def _prepared(self) -> PreparedKey:
        self._check_open()
        if self._key is None:
            raise DeviceNotEnrolledError(f"device {self._serial} holds no secret (reset); enroll it first")
        return self._key

    # -- Device interface
    @property
    def identity(self) -> str:
        return self._serial

    @property
    def kind(self) -> DeviceKind:
        return self._kind

    def reset(self) -> None:
        self._check_open()
        self._set_secret(None)

    @property
    def simulator(self) -> Self:
        """The :class:`~tokens.device.Simulated` capability: a virtual token is its own hardware."""
        return self

    def params(self) -> OtpParams:
        """The credential this token holds (secret included)."""
        return OtpParams(self._type, self.secret, self.algorithm, self.digits, **self._type_params(),
                         issuer=self.issuer, account=self.account)

    def _type_params(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_uri(self) -> OtpauthURI:
        return OtpauthURI.from_params(self.params())

    def uri(self) -> str:
        """The otpauth:// URI (contains the secret)."""
        return self.to_uri().to_uri()

    def _apply(self, opts: OtpOptions) -> None:
        if opts.type is not self._type:
            raise InputError(f"a virtual {self._type.value} token cannot enroll a {opts.type.value} "
                             "credential")
        self.algorithm, self.digits = opts.algorithm, check_digits(opts.digits)

    def enroll(self, request: EnrollRequest | None = None) -> OtpEnrollment:
        self._check_open()
        req = request or EnrollRequest()
        if req.otp is not None:
            self._apply(req.otp)
        if req.secret is not None:
            self._set_secret(req.secret)
        elif self._secret is None or req.otp is not None:
            self._set_secret(self._secret or random_secret())  # a new algorithm needs a new PreparedKey
        if request is not None:
            self.account, self.issuer = req.account, req.rp_id
        return OtpEnrollment(kind=self.kind, device_id=self.identity, params=self.params())

    def _details(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm.value, "digits": self.digits, **self._type_params()}

    def info(self) -> DeviceInfo:
        return DeviceInfo(identity=self.identity, kind=self.kind, capabilities=self.capabilities,
                          model=f"tokensim virtual {self._type.value.upper()}", firmware="",
                          details={**self._details(), "issuer": self.issuer, "account": self.account,
                                   "enrolled": self._secret is not None})


class VirtualTOTP(VirtualOTPDevice):
    """A time-based token with its own drifting clock."""

    _kind = DeviceKind.TOTP
    _type = OtpType.TOTP

    def __init__(self, secret: bytes | None = None, *, period: int = 30, t0: float = 0.0,
                 clock: DriftingClock | None = None, reference: Clock | None = None,
                 drift: DriftModel | None = None, **kw: Any) -> None:
        self.period = check_period(period)
        self.t0 = float(t0)
        if clock is None:
            clock = DriftingClock(model=drift or DriftModel(), reference=reference or SystemClock())
        self.clock = clock
        super().__init__(secret, **kw)

    @property
    def capabilities(self) -> Capability:
        return Capability.TOTP | Capability.CLOCK | Capability.SET_TIME | Capability.SIMULATED | \
            Capability.EXPORTABLE_SECRET

    def device_time(self, at: float | None = None) -> float:
        """What the token's clock shows at reference time ``at`` (default: the reference's now)."""
        return self.clock.now() if at is None else self.clock.device_time(at)

    def step(self, at: float | None = None) -> int:
        return totp_step(self.device_time(at), self.period, self.t0)

    def code(self, at: float | None = None) -> str:
        return self._prepared().code(self._checked_step(at), self.digits)

    def _checked_step(self, at: float | None) -> int:
        s = self.step(at)
        if s < 0:
            raise InputError("the device's clock is before the TOTP epoch")
        return s

    def consecutive(self, n: int = 2, at: float | None = None) -> list[str]:
        """``n`` consecutive codes starting at the current step (no waiting between them)."""
        if n < 1:
            raise InputError("n must be at least 1")
        return self._prepared().codes(self._checked_step(at), n, self.digits)

    def last(self, n: int = 2, at: float | None = None) -> list[str]:
        """The ``n`` most recent codes, oldest first, ending with the one the token shows now.

        This is what a person types into a two-code enrollment form (AWS EnableMFADevice,
        ResyncMFADevice): the previous code, then the current one.  Prefer it to
        ``consecutive(2)``, whose second code is still in the future and tells a drift-tracking
        verifier that the token runs a step fast.
        """
        if n < 1:
            raise InputError("n must be at least 1")
        step = self._checked_step(at)
        if step - n + 1 < 0:
            raise InputError("the device's clock is too close to the TOTP epoch")
        return self._prepared().codes(step - n + 1, n, self.digits)

    def authenticate(self, request: AuthRequest | None = None) -> OtpAuthentication:
        at = request.at if request else None
        dt = self.device_time(at)
        step = self._checked_step(at)
        code = self._prepared().code(step, self.digits)
        return OtpAuthentication(kind=self.kind, device_id=self.identity, code=code, type=self._type,
                                 counter=step, device_time=dt, period=self.period)

    def _type_params(self) -> dict[str, Any]:
        return {"period": self.period, "t0": self.t0}

    def _apply(self, opts: OtpOptions) -> None:
        super()._apply(opts)
        self.period = check_period(opts.period)

    def to_uri(self) -> OtpauthURI:
        return OtpauthURI.from_params(self.params().replace(t0=0.0))  # the URI format has no T0

    @classmethod
    def from_uri(cls, uri: str | OtpParams, **kw: Any) -> Self:
        """A token for an otpauth:// URI (or any :class:`~tokens.params.OtpParams`)."""
        u = parse_otpauth(uri) if isinstance(uri, str) else uri
        if u.type is not OtpType.TOTP:
            raise InputError("this is a hotp URI; use VirtualHOTP.from_uri")
        return cls(u.secret, algorithm=u.algorithm, digits=u.digits, period=u.period, t0=u.t0,
                   issuer=u.issuer, account=u.account, **kw)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "totp", "serial": self.identity, "uri": self.uri() if self._secret else None,
                "issuer": self.issuer, "account": self.account, "algorithm": self.algorithm.value,
                "digits": self.digits, "period": self.period, "t0": self.t0,
                "clock": self.clock.to_dict()}


class VirtualHOTP(VirtualOTPDevice):
    """A counter-based token: every press (``code()``) shows the next counter's code."""

    _kind = DeviceKind.HOTP
    _type = OtpType.HOTP

    def __init__(self, secret: bytes | None = None, *, counter: int = 0, **kw: Any) -> None:
        if not 0 <= counter < 2**64:
            raise InputError(f"counter {counter} out of range")
        self.counter = counter
        super().__init__(secret, **kw)

    @property
    def capabilities(self) -> Capability:
        return Capability.HOTP | Capability.BUTTON | Capability.SIMULATED | Capability.EXPORTABLE_SECRET

    def peek(self, counter: int | None = None) -> str:
        """The code for ``counter`` (default: the next one) without pressing the button."""
        return self._prepared().code(self.counter if counter is None else counter, self.digits)

    def code(self, at: float | None = None) -> str:
        """Press the button: the next code; the counter moves on."""
        c = self._prepared().code(self.counter, self.digits)
        self.counter += 1
        return c

    def consecutive(self, n: int = 2, at: float | None = None) -> list[str]:
        if n < 1:
            raise InputError("n must be at least 1")
        codes = self._prepared().codes(self.counter, n, self.digits)
        self.counter += n
        return codes

    def authenticate(self, request: AuthRequest | None = None) -> OtpAuthentication:
        used = self.counter
        code = self.code()
        return OtpAuthentication(kind=self.kind, device_id=self.identity, code=code, type=self._type,
                                 counter=used)

    def enroll(self, request: EnrollRequest | None = None) -> OtpEnrollment:
        if request is not None and request.secret is not None:  # a new seed starts a new count
            self.counter = request.otp.counter if request.otp is not None else 0
        return super().enroll(request)

    def reset(self) -> None:
        super().reset()
        self.counter = 0

    def _type_params(self) -> dict[str, Any]:
        return {"counter": self.counter}

    @classmethod
    def from_uri(cls, uri: str | OtpParams, **kw: Any) -> Self:
        """A token for an otpauth:// URI (or any :class:`~tokens.params.OtpParams`)."""
        u = parse_otpauth(uri) if isinstance(uri, str) else uri
        if u.type is not OtpType.HOTP:
            raise InputError("this is a totp URI; use VirtualTOTP.from_uri")
        return cls(u.secret, algorithm=u.algorithm, digits=u.digits, counter=u.counter,
                   issuer=u.issuer, account=u.account, **kw)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "hotp", "serial": self.identity, "uri": self.uri() if self._secret else None,
                "issuer": self.issuer, "account": self.account, "algorithm": self.algorithm.value,
                "digits": self.digits, "counter": self.counter}


def device_from_uri(uri: str, *, reference: Clock | None = None,
                    drift: DriftModel | None = None) -> VirtualTOTP | VirtualHOTP:
    u = parse_otpauth(uri)
    if u.type is OtpType.TOTP:
        return VirtualTOTP.from_uri(u, reference=reference, drift=drift)
    return VirtualHOTP.from_uri(u)


def device_from_dict(d: dict[str, Any], reference: Clock | None = None) -> VirtualTOTP | VirtualHOTP:
    """Rebuild a device saved with ``to_dict()`` (the device store's record)."""
    uri = d.get("uri")
    secret = parse_otpauth(uri).secret if uri else None
    common: dict[str, Any] = dict(algorithm=d.get("algorithm", "SHA1"), digits=int(d.get("digits", 6)),
                                  issuer=d.get("issuer", ""), account=d.get("account", ""),
                                  serial=d.get("serial"))
    if d.get("type") == "hotp":
        dev: VirtualTOTP | VirtualHOTP = VirtualHOTP(secret or b"\0" * 20,
                                                     counter=int(d.get("counter", 0)), **common)
    elif d.get("type") == "totp":
        clock = DriftingClock.from_dict(d.get("clock") or {}, reference=reference)
        dev = VirtualTOTP(secret or b"\0" * 20, period=int(d.get("period", 30)),
                          t0=float(d.get("t0", 0.0)), clock=clock, **common)
    else:
        raise InputError(f"unknown device type {d.get('type')!r}")
    if secret is None:
        dev._set_secret(None)
    return dev


__all__ = ["VirtualHOTP", "VirtualOTPDevice", "VirtualTOTP", "decode_secret", "device_from_dict",
           "device_from_uri", "new_serial"]
