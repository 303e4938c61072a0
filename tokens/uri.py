"""otpauth:// Key URI format (the Google Authenticator convention) — parse, validate, build.

    otpauth://TYPE/LABEL?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
    otpauth://hotp/LABEL?secret=BASE32&counter=0

LABEL is ``issuer:account`` or ``account``.  Inconsistent URIs are rejected, not guessed at:
an ``issuer=`` that disagrees with the label prefix, a ``counter`` on a TOTP URI or none on HOTP,
digits outside 6-8, an unknown algorithm.  Every rejection is an :class:`OtpauthURIError`
(an :class:`~tokens.errors.InvalidURIError`, hence a ``ValueError`` and a ``TokensimError``); a
URI that parses can always be written back with :meth:`OtpauthURI.to_uri`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import InputError, InvalidURIError
from .otp import Algorithm, check_digits, check_period, decode_secret, encode_secret
from .params import OtpParams, OtpType, check_label_text


class OtpauthURIError(InvalidURIError):
    """An otpauth:// URI that does not parse, or whose parameters are invalid or inconsistent."""


@dataclass(frozen=True)
class OtpauthURI(OtpParams):
    """An :class:`~tokens.params.OtpParams` as written in an otpauth:// URI (plus the optional
    ``image=`` logo URL).  The URI format has no T0, so ``t0`` must stay 0."""

    image: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.t0 != 0:
            raise InputError("an otpauth URI has no T0: the parameters need t0 = 0")
        check_label_text("image", self.image)

    @classmethod
    def from_params(cls, p: OtpParams, image: str = "") -> Self:
        return cls(p.type, p.secret, p.algorithm, p.digits, p.period, p.counter, p.t0, p.issuer,
                   p.account, image)

    def to_uri(self) -> str:
        label = quote(self.issuer, safe="") + ":" if self.issuer else ""
        label += quote(self.account, safe="@")
        q = [f"secret={encode_secret(self.secret)}"]
        if self.issuer:
            q.append(f"issuer={quote(self.issuer, safe='')}")
        q += [f"algorithm={self.algorithm.value}", f"digits={self.digits}"]
        q.append(f"period={self.period}" if self.is_totp else f"counter={self.counter}")
        if self.image:
            q.append(f"image={quote(self.image, safe='')}")
        return f"otpauth://{self.type.value}/{label}?{'&'.join(q)}"


def _int(name: str, value: str) -> int:
    # ASCII digits only: int() would also take "٦", "+6", " 6" and "6_0"
    if not (value.isascii() and value.isdigit()) or len(value) > 40:
        raise OtpauthURIError(f"otpauth URI: {name}={value[:40]!r} is not a whole number")
    return int(value, 10)


def parse_otpauth(uri: str) -> OtpauthURI:
    """Parse and validate an otpauth:// URI; raises :class:`OtpauthURIError` with the reason."""
    try:
        return _parse(uri)
    except OtpauthURIError:
        raise
    except InputError as e:
        raise OtpauthURIError(f"otpauth URI: {e}") from None


def _parse(uri: str) -> OtpauthURI:
    if not isinstance(uri, str) or not uri.strip():
        raise OtpauthURIError("otpauth URI is empty")
    try:
        parts = urlsplit(uri.strip())
    except ValueError as e:  # "otpauth://[..." : an unbalanced IPv6 bracket in the type position
        raise OtpauthURIError(f"otpauth URI does not parse ({e})") from None
    if parts.scheme.lower() != "otpauth":
        raise OtpauthURIError(f"not an otpauth:// URI (scheme {parts.scheme or 'missing'!r})")
    otype: OtpType
    if parts.netloc.lower() == "totp":
        otype = OtpType.TOTP
    elif parts.netloc.lower() == "hotp":
        otype = OtpType.HOTP
    else:
        raise OtpauthURIError(f"otpauth URI type must be totp or hotp, not {parts.netloc[:40]!r}")
    label = unquote(parts.path.lstrip("/"))
    if ":" in label:
        label_issuer, account = (s.strip() for s in label.split(":", 1))
    else:
        label_issuer, account = "", label.strip()
    params: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        key = k.lower()
        if key in params:
            raise OtpauthURIError(f"otpauth URI: parameter {key!r} is given twice")
        params[key] = v
    if "secret" not in params or not params["secret"]:
        raise OtpauthURIError("otpauth URI has no secret= parameter")
    secret = decode_secret(params["secret"])
    issuer = params.get("issuer", "").strip()
    if issuer and label_issuer and issuer != label_issuer:
        raise OtpauthURIError(
            f"otpauth URI is inconsistent: issuer={issuer!r} but the label says {label_issuer!r}")
    algorithm = Algorithm.parse(params.get("algorithm", "SHA1"))
    digits = check_digits(_int("digits", params.get("digits", "6")))
    period = 30
    counter = 0
    if otype is OtpType.TOTP:
        if "counter" in params:
            raise OtpauthURIError("otpauth URI is inconsistent: a totp URI carries counter=")
        period = check_period(_int("period", params.get("period", "30")))
    else:
        if "counter" not in params:
            raise OtpauthURIError("otpauth URI: hotp needs a counter= parameter")
        if "period" in params:
            raise OtpauthURIError("otpauth URI is inconsistent: a hotp URI carries period=")
        counter = _int("counter", params["counter"])
        if not 0 <= counter < 2**64:
            raise OtpauthURIError(f"otpauth URI: counter {counter} out of range")
    return OtpauthURI(type=otype, secret=secret, account=account, issuer=issuer or label_issuer,
                      algorithm=algorithm, digits=digits, period=period, counter=counter,
                      image=params.get("image", ""))
