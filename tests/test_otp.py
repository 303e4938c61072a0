"""RFC 4226 / RFC 6238 vectors and random cross-checks against pyotp."""

from __future__ import annotations

import hashlib
import random

import pyotp
import pytest

from tokens.clock import DriftModel, ManualClock
from tokens.errors import InputError, InvalidSecretError
from tokens.otp import Algorithm, decode_secret, encode_secret, hotp, totp, totp_step
from tokens.virtual import VirtualHOTP, VirtualTOTP

RFC4226_KEY = b"12345678901234567890"
# RFC 4226 Appendix D: HOTP values for counters 0..9 (SHA-1, 6 digits)
RFC4226_VALUES = ["755224", "287082", "359152", "969429", "338314",
                  "254676", "287922", "162583", "399871", "520489"]

# RFC 6238 Appendix B: (time, SHA1, SHA256, SHA512), 8 digits; each hash has its own seed length
RFC6238_KEYS = {
    Algorithm.SHA1: b"12345678901234567890",
    Algorithm.SHA256: b"12345678901234567890123456789012",
    Algorithm.SHA512: b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VALUES = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("counter,expected", list(enumerate(RFC4226_VALUES)))
def test_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert hotp(RFC4226_KEY, counter) == expected
    dev = VirtualHOTP(RFC4226_KEY, counter=counter)
    assert dev.code() == expected and dev.counter == counter + 1


@pytest.mark.parametrize("row", RFC6238_VALUES, ids=lambda r: str(r[0]))
@pytest.mark.parametrize("alg", list(Algorithm))
def test_rfc6238_appendix_b(row: tuple[int, str, str, str], alg: Algorithm) -> None:
    t = row[0]
    expected = row[1 + list(Algorithm).index(alg)]
    key = RFC6238_KEYS[alg]
    assert totp(key, t, digits=8, algorithm=alg) == expected
    dev = VirtualTOTP(key, algorithm=alg, digits=8, reference=ManualClock(t))
    assert dev.code() == expected
    assert dev.code(at=t) == expected


def test_random_cross_check_against_pyotp() -> None:
    rng = random.Random(4226)
    for _ in range(400):
        key = rng.randbytes(rng.choice([14, 16, 20, 32, 64, 65, 100]))  # pyotp needs >= 112 bits
        alg = rng.choice(list(Algorithm))
        digits = rng.choice([6, 7, 8])
        period = rng.choice([15, 30, 60, 90])
        t = rng.uniform(0, 4e9)
        ref = pyotp.TOTP(encode_secret(key), digits=digits, interval=period,
                         digest=getattr(hashlib, alg.hashlib_name))
        dev = VirtualTOTP(key, algorithm=alg, digits=digits, period=period, reference=ManualClock(t))
        assert dev.code() == ref.at(int(t)) == totp(key, t, digits, period, alg)
        counter = rng.randrange(0, 2**40)
        href = pyotp.HOTP(encode_secret(key), digits=digits, digest=getattr(hashlib, alg.hashlib_name))
        assert hotp(key, counter, digits, alg) == href.at(counter)


def test_drifted_device_shows_code_of_its_own_time() -> None:
    key = RFC4226_KEY
    ref = ManualClock(1_000_000)
    dev = VirtualTOTP(key, reference=ref, drift=DriftModel(offset=45.0, epoch=1_000_000))
    assert dev.code() == totp(key, 1_000_045)
    assert dev.step() == totp_step(1_000_045)
    codes = dev.consecutive(3)
    assert codes == [hotp(key, dev.step() + i) for i in range(3)]


@pytest.mark.parametrize("bad", ["", "   ", "abc!", "A", "GEZDGNBV", "GEZDGNBVG", "0OIL" * 5])
def test_bad_secrets_rejected(bad: str) -> None:
    with pytest.raises(InvalidSecretError):
        decode_secret(bad)


def test_secret_normalisation() -> None:
    s = "gezd gnbv-gy3t qojq gezd gnbv gy3t qojq"
    assert decode_secret(s) == RFC4226_KEY
    assert decode_secret(encode_secret(RFC4226_KEY) + "====") == RFC4226_KEY


@pytest.mark.parametrize("digits", [0, 5, 9, 10, -1, True])
def test_bad_digits(digits: int) -> None:
    with pytest.raises(InputError):
        VirtualTOTP(RFC4226_KEY, digits=digits)


def test_algorithm_parse() -> None:
    assert Algorithm.parse("sha-256") is Algorithm.SHA256
    assert Algorithm.parse("HMAC-SHA512") is Algorithm.SHA512
    with pytest.raises(InputError, match="unknown algorithm"):
        Algorithm.parse("MD5")


def test_last_codes_end_at_the_current_step_even_on_a_boundary() -> None:
    # +40 ppm, epoch exactly on a step boundary: at ``at - period`` the device is a hair before
    # the previous boundary, so "consecutive(2, at=at - period)" would be two steps old
    epoch = 1_798_761_600.0  # 2027-01-01T00:00:00Z, a multiple of 30
    dev = VirtualTOTP(RFC4226_KEY, reference=ManualClock(epoch), drift=DriftModel(ppm=40, epoch=epoch))
    step = dev.step(epoch)
    assert step == int(epoch // 30)
    assert dev.last(2, at=epoch) == [hotp(RFC4226_KEY, step - 1), hotp(RFC4226_KEY, step)]
    assert dev.last(1) == [dev.code()]
    assert dev.last(3)[-2:] == dev.last(2)
    with pytest.raises(InputError):
        dev.last(0)
