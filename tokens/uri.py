"""otpauth:// Key URI format (the Google Authenticator convention) — parse, validate, build.

    otpauth://TYPE/LABEL?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
    otpauth://hotp/LABEL?secret=BASE32&counter=0

LABEL is ``issuer:account`` or ``account``.  Inconsistent URIs are rejected, not guessed at:
an ``issuer=`` that disagrees with the label prefix, a ``counter`` on a TOTP URI or none on HOTP,
digits outside 6-8, an unknown algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import InputError, InvalidURIError
from .otp import Algorithm, check_digits, check_period, decode_secret, encode_secret

OtpType = Literal["totp", "hotp"]
_KNOWN = {"secret", "issuer", "algorithm", "digits", "period", "counter", "image"}


@dataclass(frozen=True)
class OtpauthURI:
    type: OtpType
    secret: bytes
    account: str = ""
    issuer: str = ""
    algorithm: Algorithm = Algorithm.SHA1
    digits: int = 6
    period: int = 30
    counter: int = 0
    image: str = ""

    @property
    def label(self) -> str:
        return f"{self.issuer}:{self.account}" if self.issuer else self.account

    def to_uri(self) -> str:
        label = quote(self.issuer, safe="") + ":" if self.issuer else ""
        label += quote(self.account, safe="@")
        q = [f"secret={encode_secret(self.secret)}"]
        if self.issuer:
            q.append(f"issuer={quote(self.issuer, safe='')}")
        q += [f"algorithm={self.algorithm.value}", f"digits={self.digits}"]
        q.append(f"period={self.period}" if self.type == "totp" else f"counter={self.counter}")
        if self.image:
            q.append(f"image={quote(self.image, safe='')}")
        return f"otpauth://{self.type}/{label}?{'&'.join(q)}"


def _int(name: str, value: str) -> int:
    try:
        return int(value, 10)
    except ValueError:
        raise InvalidURIError(f"otpauth URI: {name}={value!r} is not a whole number") from None


def parse_otpauth(uri: str) -> OtpauthURI:
    """Parse and validate an otpauth:// URI; raises InvalidURIError with the reason."""
    if not isinstance(uri, str) or not uri.strip():
        raise InvalidURIError("otpauth URI is empty")
    parts = urlsplit(uri.strip())
    if parts.scheme.lower() != "otpauth":
        raise InvalidURIError(f"not an otpauth:// URI (scheme {parts.scheme or 'missing'!r})")
    otype: OtpType
    if parts.netloc.lower() == "totp":
        otype = "totp"
    elif parts.netloc.lower() == "hotp":
        otype = "hotp"
    else:
        raise InvalidURIError(f"otpauth URI type must be totp or hotp, not {parts.netloc!r}")
    label = unquote(parts.path.lstrip("/"))
    if ":" in label:
        label_issuer, account = (s.strip() for s in label.split(":", 1))
    else:
        label_issuer, account = "", label.strip()
    params: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        key = k.lower()
        if key in params:
            raise InvalidURIError(f"otpauth URI: parameter {key!r} is given twice")
        params[key] = v
    if "secret" not in params or not params["secret"]:
        raise InvalidURIError("otpauth URI has no secret= parameter")
    try:
        secret = decode_secret(params["secret"])
    except InputError as e:
        raise InvalidURIError(f"otpauth URI: {e}") from None
    issuer = params.get("issuer", "").strip()
    if issuer and label_issuer and issuer != label_issuer:
        raise InvalidURIError(
            f"otpauth URI is inconsistent: issuer={issuer!r} but the label says {label_issuer!r}")
    try:
        algorithm = Algorithm.parse(params.get("algorithm", "SHA1"))
        digits = check_digits(_int("digits", params.get("digits", "6")))
        period = 30
        counter = 0
        if otype == "totp":
            if "counter" in params:
                raise InvalidURIError("otpauth URI is inconsistent: a totp URI carries counter=")
            period = check_period(_int("period", params.get("period", "30")))
        else:
            if "counter" not in params:
                raise InvalidURIError("otpauth URI: hotp needs a counter= parameter")
            if "period" in params:
                raise InvalidURIError("otpauth URI is inconsistent: a hotp URI carries period=")
            counter = _int("counter", params["counter"])
            if not 0 <= counter < 2**64:
                raise InvalidURIError(f"otpauth URI: counter {counter} out of range")
    except InvalidURIError:
        raise
    except InputError as e:
        raise InvalidURIError(f"otpauth URI: {e}") from None
    return OtpauthURI(type=otype, secret=secret, account=account, issuer=issuer or label_issuer,
                      algorithm=algorithm, digits=digits, period=period, counter=counter,
                      image=params.get("image", ""))
