"""Adversarial: otpauth:// URIs.

``parse_otpauth`` gets arbitrary text and structured URIs with hostile parts (brackets, surrogates,
control characters, huge numbers, Unicode digits, repeated and unknown parameters).  It returns an
``OtpauthURI`` or raises ``OtpauthURIError`` — nothing else — and whatever it returns can be
written back with ``to_uri()`` and parses again to the same record.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokens.otp import encode_secret
from tokens.uri import OtpauthURI, OtpauthURIError, parse_otpauth

from ._settings import FUZZ

pytestmark = pytest.mark.timeout(120)


def check(uri: str) -> None:
    try:
        u = parse_otpauth(uri)
    except OtpauthURIError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(u, OtpauthURI)
    again = parse_otpauth(u.to_uri())  # what parsed can be written and read back
    assert again == u


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    check(text)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_after_the_scheme(text: str) -> None:
    check("otpauth://" + text)


SECRETS = st.one_of(st.binary(min_size=10, max_size=40).map(encode_secret), st.text(max_size=40),
                    st.sampled_from(["", "A", "AAAAAAAA=", "GEZD GNBV-GY3T QOJQ GEZD GNBV GY3T QOJQ"]))
NUMBERS = st.one_of(st.integers(-5, 2**65).map(str), st.sampled_from(["", "٦", "+6", " 6", "6_0", "1e3",
                                                                       "0x10", "9" * 5000, "-0"]),
                    st.text(max_size=8))
LABEL = st.one_of(st.text(max_size=30), st.sampled_from(["[", "]", "[::1]", "a:b:c", "%ED%A0%80", "\ud800",
                                                          "\x00", "%00", "%", "%zz", ":", "a%3Ab"]))


@st.composite
def structured(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["totp", "hotp", "TOTP", "motp", "", "[", "totp]", "[::1]"]))
    label = draw(LABEL)
    params = draw(st.lists(st.tuples(
        st.sampled_from(["secret", "issuer", "algorithm", "digits", "period", "counter", "image", "SECRET",
                         "x", ""]),
        st.one_of(SECRETS, NUMBERS, LABEL, st.sampled_from(["SHA1", "sha256", "HMAC-SHA512", "MD5"]))),
        max_size=7))
    if draw(st.booleans()):
        params.insert(0, ("secret", draw(SECRETS)))
    query = "&".join(f"{k}={v}" for k, v in params)
    sep = draw(st.sampled_from(["?", "?", "#", "?&", ""]))
    return f"otpauth://{kind}/{label}{sep}{query}"


@FUZZ
@given(structured())
def test_structured_uris(uri: str) -> None:
    check(uri)


@st.composite
def nearly_valid(draw: st.DrawFn) -> str:
    """A valid URI with some of its parts replaced by hostile ones."""
    def part(valid: st.SearchStrategy[str], hostile: st.SearchStrategy[str]) -> str:
        return draw(hostile if draw(st.integers(0, 9)) == 0 else valid)

    hotp = draw(st.booleans())
    label = part(st.text(st.characters(blacklist_characters=":/?#%&"), max_size=20), LABEL)
    issuer = part(st.just(""), LABEL)
    q = [("secret", part(st.binary(min_size=10, max_size=64).map(encode_secret), SECRETS))]
    if issuer:
        q.append(("issuer", issuer))
    q.append(("digits", part(st.sampled_from(["6", "7", "8"]), NUMBERS)))
    q.append(("algorithm", part(st.sampled_from(["SHA1", "SHA256", "SHA512"]), st.text(max_size=8))))
    if hotp:
        q.append(("counter", part(st.integers(0, 2**64 - 1).map(str), NUMBERS)))
    else:
        q.append(("period", part(st.integers(1, 86400).map(str), NUMBERS)))
    if draw(st.booleans()):
        q.append(("image", part(st.just("https://example.com/logo.png"), LABEL)))
    return f"otpauth://{'hotp' if hotp else 'totp'}/{label}?" + "&".join(f"{k}={v}" for k, v in q)


@FUZZ
@given(nearly_valid())
def test_nearly_valid_uris(uri: str) -> None:
    check(uri)
