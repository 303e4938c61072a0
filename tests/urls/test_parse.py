"""Bad URLs give one-line InvalidURIError messages naming the expected form; good ones parse."""

from __future__ import annotations

import pytest

from tokens.errors import InputError, InvalidURIError
from tokens.open import DeviceURL, Scheme, known_schemes, open_device, register_scheme, schemes
from tokens.open._url import DeviceURL as _DeviceURL

BAD = [
    # (url, fragment the message must contain)
    ("", "empty device URL"),
    ("alice", "no scheme"),
    ("nosuch:thing", "known: virtual:, totp:"),
    ("virtual:", "expected virtual:NAME"),
    ("virtual://host/alice", "expected virtual:NAME"),
    ("virtual:alice?x=1", "unknown parameter(s) x"),
    ("totp:?secret=not-base32!", "expected totp:?secret=BASE32"),
    ("totp:?digits=five", "digits must be a whole number"),
    ("totp:?digits=12", "digits must be between 6 and 10"),
    ("totp:?period=0", "period must be between 1 and 3600"),
    ("totp:?drift_ppm=nan", "drift_ppm must be a finite number"),
    ("totp:?drift_ppm=5000", "drift_ppm must be between"),
    ("totp:?algorithm=MD5", "algorithm must be SHA1, SHA256 or SHA512"),
    ("totp:?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP", "given twice"),
    ("totp:?colour=red", "unknown parameter(s) colour"),
    ("totp://host?secret=JBSWY3DPEHPK3PXP", "the parameters go in the query string"),
    ("hotp:?counter=-1", "counter must be between 0"),
    ("fido2-udp://127.0.0.1", "missing port; expected fido2-udp://HOST:PORT"),
    ("fido2-udp://:8111/x", "unexpected path"),
    ("fido2-udp://127.0.0.1:99999", "expected fido2-udp://HOST:PORT"),
    ("fido2-sim:", "expected fido2-sim:NAME"),
    ("serial://host/dev/ttyACM0", "three slashes"),
    ("serial://", "missing device path"),
    ("socket://127.0.0.1", "missing port; expected socket://HOST:PORT"),
    ("socket://user@127.0.0.1:7000", "user information is not allowed"),
    ("sim-serial:?slots=0", "slots must be between 1 and 16"),
    ("sim-serial:?slots=abc", "slots must be a whole number"),
    ("sim-serial:?button=maybe", "button must be true or false"),
    ("sim-serial:?warp=9", "unknown parameter(s) warp"),
    ("totp:?secret=JBSWY3DPEHPK3PXP#frag", "fragment"),
    ("totp:?a b", "whitespace"),
]


@pytest.mark.parametrize(("url", "fragment"), BAD, ids=[b[0] or "empty" for b in BAD])
def test_bad_url_is_one_line_invalid_uri_error(url: str, fragment: str) -> None:
    with pytest.raises(InvalidURIError) as ei:
        open_device(url)
    msg = str(ei.value)
    assert fragment in msg
    assert "\n" not in msg
    assert msg.count("; expected ") <= 1  # said once, not wrapped again
    assert isinstance(ei.value, ValueError)  # InvalidURIError is an InputError (a ValueError)


def test_unknown_scheme_lists_every_registered_scheme() -> None:
    with pytest.raises(InvalidURIError) as ei:
        open_device("usb:key")
    for s in schemes():
        assert f"{s.name}:" in str(ei.value)
    assert known_schemes().count(":") == len(schemes())


def test_secret_never_appears_in_an_error() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DP"
    with pytest.raises(InvalidURIError) as ei:
        open_device(f"totp:?secret={secret}&digits=4")
    assert secret not in str(ei.value)
    assert "secret=<hidden>" in str(ei.value)
    with pytest.raises(InvalidURIError) as ei2:
        open_device(f"nosuch:?secret={secret}")
    assert secret not in str(ei2.value)


def test_unknown_keyword_option_is_rejected_by_name() -> None:
    with pytest.raises(InputError, match=r"totp: unknown option\(s\) pin"):
        open_device("totp:", pin="1234")


@pytest.mark.parametrize(("url", "scheme", "path"), [
    ("/dev/ttyACM0", "serial", "/dev/ttyACM0"),
    ("serial:///dev/ttyUSB1", "serial", "/dev/ttyUSB1"),
    ("VIRTUAL:alice", "virtual", "alice"),
    ("fido2-hid:", "fido2-hid", ""),
    ("fido2-hid:///dev/hidraw3", "fido2-hid", "/dev/hidraw3"),
])
def test_parse_scheme_and_path(url: str, scheme: str, path: str) -> None:
    u = DeviceURL.parse(url)
    assert (u.scheme, u.path) == (scheme, path)


def test_host_port_and_typed_query() -> None:
    u = DeviceURL.parse("fido2-udp://127.0.0.1:8111").expecting("fido2-udp://HOST:PORT")
    assert u.host_port() == ("127.0.0.1", 8111)
    q = _DeviceURL.parse("sim-serial:?slots=3&drift_ppm=-2.5&button=yes")
    assert q.integer("slots", 4, 1, 16) == 3
    assert q.number("drift_ppm", 0.0) == -2.5
    assert q.flag("button") is True
    assert q.integer("missing", 7) == 7


def test_register_scheme_plugs_in_a_handler_and_refuses_duplicates() -> None:
    from tokens.virtual import VirtualHOTP

    seen: list[str] = []

    def handler(url: DeviceURL, ctx: object) -> VirtualHOTP:
        seen.append(url.name())
        return VirtualHOTP(b"k" * 20)

    register_scheme(Scheme("test-plugin", "test-plugin:NAME", "a test plug-in", handler))
    try:
        dev = open_device("test-plugin:abc")
        assert isinstance(dev, VirtualHOTP) and seen == ["abc"]
        with pytest.raises(InputError, match="already registered"):
            register_scheme(Scheme("test-plugin", "x", "x", handler))
    finally:
        from tokens import open as tokens_open

        tokens_open._REGISTRY.pop("test-plugin", None)
