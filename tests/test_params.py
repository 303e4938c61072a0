"""OtpParams: the one validated record of an OTP credential, and its conversions."""

from __future__ import annotations

import dataclasses

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokens.clock import ManualClock
from tokens.errors import InputError, InvalidSecretError
from tokens.otp import Algorithm, encode_secret
from tokens.params import OtpParams, OtpType
from tokens.uri import OtpauthURI, parse_otpauth
from tokens.verifier import Verifier
from tokens.verifier.memory import MemoryStore
from tokens.virtual import VirtualHOTP, VirtualTOTP

RFC = b"12345678901234567890"


@pytest.mark.parametrize("kw,why", [
    ({"secret": b"short"}, "too short"), ({"digits": 9}, "digits"), ({"digits": True}, "digits"),
    ({"period": 0}, "period"), ({"counter": -1}, "counter"), ({"counter": 2**64}, "counter"),
    ({"t0": float("nan")}, "t0"), ({"algorithm": "MD5"}, "algorithm"), ({"type": "motp"}, "totp or hotp"),
    ({"issuer": "a:b"}, "':'"), ({"account": "a:b"}, "no issuer"), ({"account": "\ud800"}, "surrogate"),
])
def test_invalid_parameters_are_rejected_at_construction(kw: dict[str, object], why: str) -> None:
    base: dict[str, object] = {"type": OtpType.TOTP, "secret": RFC}
    with pytest.raises(InputError, match=why):
        OtpParams(**{**base, **kw})  # type: ignore[arg-type]


def test_strings_are_normalised_to_enums_and_secret_hidden() -> None:
    p = OtpParams("HOTP", bytearray(RFC), "sha256")  # type: ignore[arg-type]
    assert p.type is OtpType.HOTP and p.algorithm is Algorithm.SHA256 and isinstance(p.secret, bytes)
    assert "secret" not in repr(p) and "secret" not in p.public_dict()
    with pytest.raises(InvalidSecretError):
        OtpParams(OtpType.TOTP, "not bytes")  # type: ignore[arg-type]


@given(t=st.integers(0, 2**33), digits=st.sampled_from([6, 7, 8]), period=st.sampled_from([15, 30, 60]),
       alg=st.sampled_from(list(Algorithm)), counter=st.integers(0, 2**40))
def test_codes_match_pyotp(t: int, digits: int, period: int, alg: Algorithm, counter: int) -> None:
    b32 = encode_secret(RFC)
    p = OtpParams(OtpType.TOTP, RFC, alg, digits, period)
    assert p.code(t) == pyotp.TOTP(b32, digits=digits, interval=period, digest=alg.hashlib_name).at(t)
    h = OtpParams(OtpType.HOTP, RFC, alg, digits, counter=counter)
    assert h.code() == pyotp.HOTP(b32, digits=digits, digest=alg.hashlib_name).at(counter)


def test_replace_validates_again_and_keeps_the_subclass() -> None:
    u = parse_otpauth("otpauth://totp/ACME:bob?secret=" + encode_secret(RFC) + "&image=https://x/y.png")
    v = u.replace(digits=8)
    assert isinstance(v, OtpauthURI) and v.image == u.image and v.digits == 8
    with pytest.raises(InputError):
        u.replace(digits=5)
    assert u.params() == OtpParams(OtpType.TOTP, RFC, issuer="ACME", account="bob")
    assert dataclasses.asdict(u.params()).keys() == {f.name for f in dataclasses.fields(OtpParams)}


def test_virtual_tokens_round_trip_through_params() -> None:
    clock = ManualClock(1_767_225_600)
    dev = VirtualTOTP(RFC, period=60, t0=30, reference=clock, issuer="ACME", account="bob")
    p = dev.params()
    assert (p.period, p.t0, p.issuer) == (60, 30.0, "ACME")
    again = VirtualTOTP.from_uri(p, reference=clock)
    assert again.code(at=clock.now()) == dev.code(at=clock.now()) == p.code(clock.now())
    assert VirtualHOTP.from_uri(VirtualHOTP(RFC, counter=7).params()).peek() == \
        pyotp.HOTP(encode_secret(RFC)).at(7)


def test_register_kwargs_feed_the_verifier() -> None:
    clock = ManualClock(1_767_225_600)
    p = OtpParams(OtpType.TOTP, RFC, Algorithm.SHA256, 8, 60, issuer="ACME", account="bob")
    v = Verifier(MemoryStore(), clock=clock)
    cred = v.register("S1", p.secret, **p.register_kwargs(), status="active")
    assert (cred.algorithm, cred.digits, cred.period, cred.issuer) == (Algorithm.SHA256, 8, 60, "ACME")
    assert v.verify("S1", p.code(clock.now())).ok
