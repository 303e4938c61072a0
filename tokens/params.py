"""One record for the parameters of an OTP credential: :class:`OtpParams`.

Everything that carries a TOTP/HOTP credential — an otpauth:// URI (:class:`tokens.uri.OtpauthURI`
is an ``OtpParams`` plus an image), a virtual token, a serial token's slot, a PSKC key package, a
verifier credential — converts to and from this one type, so the parameter set is validated once,
here, and never written out field by field again:

    >>> p = OtpParams(OtpType.TOTP, b"12345678901234567890", digits=8)
    >>> p.code(59)
    '94287082'
    >>> p.replace(period=60).period
    60

Construction validates every field (raising :class:`~tokens.errors.InputError`, a ``ValueError``):
a record that exists can always be written as a URI, a PSKC key or a PROVISION frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import StrEnum, unique
from typing import Any, Self

from .errors import InputError, InvalidSecretError
from .otp import MIN_SECRET_BYTES, Algorithm, check_digits, check_period, hotp, totp_step

U64_MAX = 2**64 - 1


@unique
class OtpType(StrEnum):
    """The OTP family; a ``StrEnum``, so ``OtpType.TOTP == "totp"`` and it formats as ``totp``."""

    TOTP = "totp"
    HOTP = "hotp"

    @classmethod
    def parse(cls, value: str | OtpType) -> OtpType:
        if isinstance(value, OtpType):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            raise InputError(f"OTP type must be totp or hotp, not {value!r}") from None


def check_label_text(what: str, value: str) -> str:
    """An issuer or account name: text that UTF-8 can encode (no lone surrogates)."""
    if not isinstance(value, str):
        raise InputError(f"{what} must be text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{what} {value!r} contains characters UTF-8 cannot encode (a lone surrogate)") \
            from None
    return value


@dataclass(frozen=True)
class OtpParams:
    """A TOTP or HOTP credential: secret and parameters (``period``/``t0`` are TOTP's, ``counter``
    is HOTP's next counter; each is kept at its default for the other type)."""

    type: OtpType
    secret: bytes = field(repr=False)
    algorithm: Algorithm = Algorithm.SHA1
    digits: int = 6
    period: int = 30
    counter: int = 0
    t0: float = 0.0
    issuer: str = ""
    account: str = ""

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the fields in place, once
        set_(self, "type", OtpType.parse(self.type))
        if not isinstance(self.secret, bytes | bytearray | memoryview):
            raise InvalidSecretError("the secret must be bytes")
        set_(self, "secret", bytes(self.secret))
        if len(self.secret) < MIN_SECRET_BYTES:
            raise InvalidSecretError(f"the secret is too short ({len(self.secret) * 8} bits; at least "
                                     f"{MIN_SECRET_BYTES * 8} required)")
        set_(self, "algorithm", Algorithm.parse(self.algorithm))
        check_digits(self.digits)
        set_(self, "period", check_period(self.period))
        if isinstance(self.counter, bool) or not isinstance(self.counter, int) \
                or not 0 <= self.counter <= U64_MAX:
            raise InputError(f"counter {self.counter!r} out of range (0 to 2**64-1)")
        if not isinstance(self.t0, int | float) or not math.isfinite(self.t0):
            raise InputError("t0 must be a finite number")
        set_(self, "t0", float(self.t0))
        check_label_text("issuer", self.issuer)
        check_label_text("account", self.account)
        if ":" in self.issuer:
            raise InputError(f"the issuer {self.issuer!r} must not contain ':' (it separates issuer and "
                             "account in the label)")
        if ":" in self.account and not self.issuer:
            raise InputError(f"the account {self.account!r} contains ':' and there is no issuer: the "
                             "label would read as issuer:account")

    # ------------------------------------------------------------------ derived
    @property
    def is_totp(self) -> bool:
        return self.type is OtpType.TOTP

    @property
    def label(self) -> str:
        """``issuer:account`` or ``account``: what authenticator apps show."""
        return f"{self.issuer}:{self.account}" if self.issuer else self.account

    def step(self, t: float) -> int:
        """TOTP: the RFC 6238 time step at (device) time ``t``."""
        return totp_step(t, self.period, self.t0)

    def code(self, at: float | None = None, *, counter: int | None = None) -> str:
        """The code at time ``at`` (TOTP) or for ``counter`` (HOTP; default: the next counter)."""
        if self.is_totp:
            if at is None:
                raise InputError("a TOTP code needs the time (at=)")
            step = self.step(at)
            if step < 0:
                raise InputError(f"time {at} is before the TOTP epoch")
            return hotp(self.secret, step, self.digits, self.algorithm)
        return hotp(self.secret, self.counter if counter is None else counter, self.digits, self.algorithm)

    # ------------------------------------------------------------------ conversions
    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def params(self) -> OtpParams:
        """Just the parameters (drops what a subclass adds, such as a URI's image)."""
        return OtpParams(self.type, self.secret, self.algorithm, self.digits, self.period, self.counter,
                         self.t0, self.issuer, self.account)

    def public_dict(self) -> dict[str, Any]:
        """Everything but the secret, JSON-ready (``period``/``t0`` for TOTP, ``counter`` for HOTP)."""
        out: dict[str, Any] = {"type": self.type.value, "algorithm": self.algorithm.value,
                               "digits": self.digits, "issuer": self.issuer, "account": self.account}
        if self.is_totp:
            out.update(period=self.period, t0=self.t0)
        else:
            out["counter"] = self.counter
        return out

    def register_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``Verifier.register(serial, secret, **kwargs)`` (secret apart)."""
        return {"kind": self.type.value, "algorithm": self.algorithm, "digits": self.digits,
                "period": self.period, "t0": self.t0, "counter": self.counter, "issuer": self.issuer,
                "account": self.account}

    @classmethod
    def totp(cls, secret: bytes, **kw: Any) -> Self:
        return cls(OtpType.TOTP, secret, **kw)

    @classmethod
    def hotp(cls, secret: bytes, **kw: Any) -> Self:
        return cls(OtpType.HOTP, secret, **kw)


__all__ = ["U64_MAX", "OtpParams", "OtpType", "check_label_text"]
