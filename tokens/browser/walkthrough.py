"""The scripted tour of the demo RP that ``make demo`` and ``tokensim demo-rp --walk`` show.

Enroll a TOTP device from the page's QR code with two codes, sign in with a later code, register a
security key with a PIN, sign in with it, then present a cloned key that the RP must refuse.  Each
step is a :class:`Step`; the browser is whatever Page the caller launched (headless or headed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import ManualClock
from .totp import fill_codes, totp_from_page
from .webauthn import VirtualWebAuthn

if TYPE_CHECKING:
    from playwright.sync_api import Page


@dataclass(frozen=True)
class Step:
    what: str
    ok: bool  # the outcome the step expected (a refused clone is ok=True)
    detail: str


def _result(page: Page) -> tuple[bool, str]:
    loc = page.locator("#result[data-ok]")
    loc.wait_for(timeout=15_000)
    return loc.get_attribute("data-ok") == "true", loc.inner_text()


def walk(page: Page, url: str, clock: ManualClock, *, pin: str = "123456",
         screenshot: Path | None = None, user: str = "alice") -> list[Step]:
    """Run the tour on ``page`` against the demo RP at ``url`` (whose verifier reads ``clock``)."""
    from fido2.ctap2.base import Ctap2
    from fido2.ctap2.pin import ClientPin

    from ..fido2 import Authenticator, SoftCtapDevice

    steps: list[Step] = []
    page.goto(f"{url}/totp/enroll?user={user}")
    dev = totp_from_page(page, reference=clock)
    codes = fill_codes(page, dev, ["#code1", "#code2"], submit="#submit")
    ok, text = _result(page)
    steps.append(Step("TOTP: read the QR code, typed code 1 / code 2", ok, f"{codes[0]} {codes[1]}: {text}"))
    clock.advance(2 * 3600)
    page.goto(f"{url}/totp/login?user={user}")
    code = fill_codes(page, dev, ["#code"], submit="#submit")[0]
    ok, text = _result(page)
    steps.append(Step("TOTP: sign in two hours later", ok, f"{code}: {text}"))

    auth = Authenticator(clock=clock)
    ClientPin(Ctap2(SoftCtapDevice(auth))).set_pin(pin)
    bridge = VirtualWebAuthn(auth, pin=pin, clock=clock).attach(page)
    page.goto(f"{url}/webauthn/register?user={user}")
    page.click("#register")
    steps.append(Step("security key: register (PIN)", *_result(page)))
    page.goto(f"{url}/webauthn/login?user={user}")
    page.click("#login")
    steps.append(Step("security key: sign in", *_result(page)))
    clone = bridge.clone()
    page.goto(f"{url}/webauthn/login?user={user}")
    page.click("#login")  # the original signs again; the clone now lags behind
    _result(page)
    bridge.use(clone)
    page.goto(f"{url}/webauthn/login?user={user}")
    page.click("#login")
    ok, text = _result(page)
    steps.append(Step("cloned key: the RP must refuse it", not ok, text))
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    bridge.close()
    return steps


def steps_json(steps: list[Step]) -> list[dict[str, Any]]:
    return [{"step": s.what, "ok": s.ok, "detail": s.detail} for s in steps]
