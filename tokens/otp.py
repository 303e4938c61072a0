"""HOTP (RFC 4226) and TOTP (RFC 6238) arithmetic: secrets, steps and codes.

Pure functions, no clocks: callers pass the time.  The verifier's inner loop lives in
:mod:`tokens.hotloop`; these functions are the readable reference it is tested against.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import secrets
from enum import Enum

from .errors import InputError, InvalidSecretError

MIN_DIGITS, MAX_DIGITS = 6, 8  # RFC 4226 §5.3 requires >= 6; 10 would overflow 31 bits
MIN_SECRET_BYTES = 10  # 80 bits; RFC 4226 recommends 160


class Algorithm(str, Enum):
    SHA1 = "SHA1"
    SHA256 = "SHA256"
    SHA512 = "SHA512"

    @property
    def hashlib_name(self) -> str:
        return self.value.lower()

    @property
    def digest_size(self) -> int:
        return {"SHA1": 20, "SHA256": 32, "SHA512": 64}[self.value]

    @classmethod
    def parse(cls, name: str | Algorithm) -> Algorithm:
        if isinstance(name, Algorithm):
            return name
        norm = str(name).upper().replace("-", "").replace("_", "").strip()
        norm = norm.removeprefix("HMAC")
        try:
            return cls(norm)
        except ValueError:
            raise InputError(f"unknown algorithm {name!r} (expected SHA1, SHA256 or SHA512)") from None


def check_digits(digits: int) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int) or not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise InputError(f"digits must be {MIN_DIGITS}, 7 or {MAX_DIGITS} (got {digits!r})")
    return digits


def check_period(period: int | float) -> int:
    if isinstance(period, bool) or not isinstance(period, int | float) or period != int(period) \
            or not 1 <= period <= 86400:
        raise InputError(f"period must be a whole number of seconds from 1 to 86400 (got {period!r})")
    return int(period)


_B32_CLEAN = re.compile(r"[\s-]")


def decode_secret(b32: str) -> bytes:
    """Base32 secret (any case, spaces/dashes allowed, padding optional) to bytes."""
    if not isinstance(b32, str):
        raise InvalidSecretError("the secret must be a base32 string")
    s = _B32_CLEAN.sub("", b32).upper().rstrip("=")
    if not s:
        raise InvalidSecretError("the secret is empty")
    if not re.fullmatch(r"[A-Z2-7]+", s):
        raise InvalidSecretError("the secret is not valid base32 (letters A-Z and digits 2-7 only)")
    if len(s) % 8 in (1, 3, 6):
        raise InvalidSecretError(f"the secret is not valid base32 (impossible length {len(s)})")
    try:
        key = base64.b32decode(s + "=" * (-len(s) % 8))
    except binascii.Error as e:
        raise InvalidSecretError(f"the secret is not valid base32 ({e})") from None
    if len(key) < MIN_SECRET_BYTES:
        raise InvalidSecretError(
            f"the secret is too short ({len(key) * 8} bits; at least {MIN_SECRET_BYTES * 8} required)")
    return key


def encode_secret(key: bytes) -> str:
    """Bytes to unpadded upper-case base32, as authenticator apps expect."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def random_secret(nbytes: int = 20) -> bytes:
    if nbytes < MIN_SECRET_BYTES:
        raise InputError(f"a secret needs at least {MIN_SECRET_BYTES} bytes")
    return secrets.token_bytes(nbytes)


def truncate(digest: bytes, digits: int) -> str:
    """RFC 4226 §5.3 dynamic truncation."""
    off = digest[-1] & 0x0F
    value = int.from_bytes(digest[off:off + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def hotp(key: bytes, counter: int, digits: int = 6, algorithm: Algorithm | str = Algorithm.SHA1) -> str:
    if not 0 <= counter < 2**64:
        raise InputError(f"counter {counter} out of range")
    alg = Algorithm.parse(algorithm)
    mac = hmac.digest(key, counter.to_bytes(8, "big"), alg.hashlib_name)
    return truncate(mac, digits)


def totp_step(t: float, period: int = 30, t0: float = 0.0) -> int:
    """The RFC 6238 time step T = floor((t - T0) / X)."""
    return math.floor((t - t0) / period)


def totp(key: bytes, t: float, digits: int = 6, period: int = 30,
         algorithm: Algorithm | str = Algorithm.SHA1, t0: float = 0.0) -> str:
    step = totp_step(t, period, t0)
    if step < 0:
        raise InputError(f"time {t} is before the TOTP epoch")
    return hotp(key, step, digits, algorithm)


def codes_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two codes."""
    return hmac.compare_digest(a.encode(), b.encode())
