"""otpauth:// parsing, validation and round trips (cross-checked with pyotp)."""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokens.errors import InvalidURIError
from tokens.otp import Algorithm, encode_secret
from tokens.uri import OtpauthURI, parse_otpauth
from tokens.virtual import VirtualHOTP, VirtualTOTP, device_from_uri

label_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=":"),
                     min_size=1, max_size=20).map(str.strip).filter(bool)


@given(secret=st.binary(min_size=10, max_size=64), account=label_text,
       issuer=st.one_of(st.just(""), label_text), alg=st.sampled_from(list(Algorithm)),
       digits=st.sampled_from([6, 7, 8]), period=st.integers(1, 86400),
       counter=st.integers(0, 2**64 - 1), hotp=st.booleans())
def test_round_trip(secret: bytes, account: str, issuer: str, alg: Algorithm, digits: int,
                    period: int, counter: int, hotp: bool) -> None:
    u = OtpauthURI(type="hotp" if hotp else "totp", secret=secret, account=account, issuer=issuer,
                   algorithm=alg, digits=digits, period=30 if hotp else period,
                   counter=counter if hotp else 0)
    assert parse_otpauth(u.to_uri()) == u
    assert "secret" not in repr(u)  # the secret never shows in a repr


def test_pyotp_reads_our_uris_and_we_read_theirs() -> None:
    dev = VirtualTOTP(algorithm="SHA256", digits=8, period=45, issuer="ACME Co", account="j@x.org")
    theirs = pyotp.parse_uri(dev.uri())
    assert theirs.at(1_700_000_000) == dev.code(at=1_700_000_000)
    uri = pyotp.TOTP(encode_secret(b"k" * 20), issuer="Big Corp", name="a b@c").provisioning_uri()
    ours = device_from_uri(uri)
    assert isinstance(ours, VirtualTOTP) and ours.issuer == "Big Corp" and ours.account == "a b@c"
    huri = pyotp.HOTP(encode_secret(b"h" * 20), initial_count=7).provisioning_uri(name="bob")
    h = device_from_uri(huri)
    assert isinstance(h, VirtualHOTP) and h.counter == 7


S = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize("uri,why", [
    ("http://totp/x?secret=" + S, "not an otpauth"),
    ("otpauth://motp/x?secret=" + S, "totp or hotp"),
    ("otpauth://totp/x", "no secret"),
    ("otpauth://totp/x?secret=!!!", "base32"),
    ("otpauth://totp/A:x?secret=" + S + "&issuer=B", "inconsistent"),
    ("otpauth://totp/x?secret=" + S + "&digits=9", "digits"),
    ("otpauth://totp/x?secret=" + S + "&digits=six", "whole number"),
    ("otpauth://totp/x?secret=" + S + "&algorithm=MD5", "algorithm"),
    ("otpauth://totp/x?secret=" + S + "&period=0", "period"),
    ("otpauth://totp/x?secret=" + S + "&counter=3", "inconsistent"),
    ("otpauth://hotp/x?secret=" + S, "counter"),
    ("otpauth://hotp/x?secret=" + S + "&counter=1&period=30", "inconsistent"),
    ("otpauth://totp/x?secret=" + S + "&secret=" + S, "twice"),
    ("", "empty"),
])
def test_inconsistent_or_malformed_rejected(uri: str, why: str) -> None:
    with pytest.raises(InvalidURIError, match=why):
        parse_otpauth(uri)
