"""TOTP enrollment from a page: the QR code (img, canvas, svg, a screen region) or the manual key becomes
a VirtualTOTP on the test's clock; two-code enrollment and later logins run against tokensim's verifier
in the demo RP.  Nothing sleeps: the clock is moved."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from tests.browser.conftest import wait_result
from tokens.browser import QRCodeNotFoundError, fill_codes, qr_text, secret_from_text
from tokens.clock import DriftModel, ManualClock


def _login(page: Any, url: str, dev: Any) -> tuple[bool, str]:
    page.goto(f"{url}/totp/login?user=alice")
    fill_codes(page, dev, ["#code"], submit="#submit")
    return wait_result(page)


@pytest.mark.parametrize("kind", ["img", "canvas", "svg"])
def test_enroll_from_qr_with_two_codes_then_log_in_later(page: Any, demo_rp: Any, totp_from_page: Any,
                                                          mfa_clock: ManualClock, kind: str) -> None:
    page.goto(f"{demo_rp.url}/totp/enroll?user=alice&qr={kind}")
    dev = totp_from_page(page)  # no selector: it finds the QR code itself
    # the device holds the secret the page shows for manual entry (an independent reading)
    shown = page.inner_text("#secret")
    assert dev.secret == secret_from_text(shown)
    assert dev.issuer == "tokensim demo" and dev.account == "alice"
    codes = fill_codes(page, dev, ["#code1", "#code2"], submit="#submit")
    ok, text = wait_result(page)
    assert ok and "TOTP enabled" in text, text
    # code 1 / code 2 are the previous and the current code, as pyotp computes them at the clock's time
    totp = pyotp.TOTP(shown.replace(" ", ""))
    assert codes == [totp.at(mfa_clock.now() - 30), totp.at(mfa_clock.now())]
    mfa_clock.advance(3 * 3600)  # hours later: no waiting, the clock moves
    ok, text = _login(page, demo_rp.url, dev)
    assert ok and "logged in as alice" in text, text
    # the same code again is a replay
    page.goto(f"{demo_rp.url}/totp/login?user=alice")
    page.fill("#code", dev.code())
    page.click("#submit")
    ok, text = wait_result(page)
    assert not ok and "replayed" in text, text


def test_wrong_codes_are_rejected(page: Any, demo_rp: Any, totp_from_page: Any) -> None:
    page.goto(f"{demo_rp.url}/totp/enroll?user=alice")
    dev = totp_from_page(page, "#qr")
    c1, c2 = dev.last(2)
    page.fill("#code1", c2)  # swapped: not consecutive in this order
    page.fill("#code2", c1)
    page.click("#submit")
    ok, text = wait_result(page)
    assert not ok and "codes not accepted" in text, text


def test_manual_key_and_one_code(page: Any, demo_rp: Any, totp_from_page: Any) -> None:
    page.goto(f"{demo_rp.url}/totp/enroll?user=alice&codes=1")
    dev = totp_from_page(page, secret_selector="#manual")  # "Can't scan? Enter this key: ABCD EFGH ..."
    fill_codes(page, dev, ["#code1"], submit="#submit")
    ok, text = wait_result(page)
    assert ok and "TOTP enabled" in text, text


def test_drifting_token_enrolls_and_logs_in(page: Any, demo_rp: Any, totp_from_page: Any,
                                            mfa_clock: ManualClock) -> None:
    page.goto(f"{demo_rp.url}/totp/enroll?user=alice")
    dev = totp_from_page(page, drift=DriftModel(ppm=20.0, offset=35.0, epoch=mfa_clock.now()))
    fill_codes(page, dev, ["#code1", "#code2"], submit="#submit")
    assert wait_result(page)[0]
    mfa_clock.advance(30 * 86400)  # a month: +20 ppm adds ~52 s to the 35 s it was ahead
    assert dev.device_time() - mfa_clock.now() > 80
    ok, text = _login(page, demo_rp.url, dev)
    assert ok, text  # the verifier followed the token's drift


def test_qr_in_a_screen_region_and_errors(page: Any, demo_rp: Any) -> None:
    page.goto(f"{demo_rp.url}/totp/enroll?user=alice&qr=canvas")
    box = page.locator("#qr").bounding_box()
    uri = qr_text(page, region=(box["x"] - 5, box["y"] - 5, box["width"] + 10, box["height"] + 10))
    assert uri.startswith("otpauth://totp/") and "secret=" in uri
    with pytest.raises(QRCodeNotFoundError):
        qr_text(page, "#manual")  # text, not a QR code
    with pytest.raises(QRCodeNotFoundError):
        qr_text(page, "#no-such-element")
    page.goto(f"{demo_rp.url}/totp/login?user=alice")
    with pytest.raises(QRCodeNotFoundError):
        qr_text(page)


def test_secret_from_text() -> None:
    rfc = b"12345678901234567890"
    assert secret_from_text("Enter this key: GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ") == rfc
    assert secret_from_text("key gezdgnbvgy3tqojq-gezdgnbvgy3tqojq please") == rfc
    with pytest.raises(QRCodeNotFoundError):
        secret_from_text("no key here, just words")
