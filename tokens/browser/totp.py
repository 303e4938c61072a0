"""TOTP enrollment from a web page: find the QR code, become the authenticator app, type the codes.

    dev = totp_from_page(page, reference=clock)           # QR in an img, canvas, svg ... -> VirtualTOTP
    fill_codes(page, dev, ("#code1", "#code2"), submit="#submit")   # AWS-style: two consecutive codes
    ...
    clock.advance(3600)
    fill_codes(page, dev, ("#code",), submit="#submit")   # a later login: the code shown now

The QR code is read from a screenshot of the element (so an ``<img>``, a ``<canvas>``, an inline
``<svg>`` or a CSS background all work) with zxing-cpp, exactly as ``tokensim totp import --qr``
reads an image file.  Pages that offer a "can't scan? enter this key" text work through
``secret_selector``.  Two-code forms get the previous and the current code
(:meth:`VirtualTOTP.last`), computed from the device's own (injected, possibly drifting) clock, so
nothing waits 30 s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..clock import Clock, DriftModel
from ..errors import InputError
from ..otp import decode_secret
from ..qr import read_qr
from ..virtual import VirtualTOTP
from .errors import QRCodeNotFoundError

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Locator, Page

# where to look when no selector is given, most specific first
QR_CANDIDATES = ("[id*=qr i]", "[class*=qr i]", "img[alt*=qr i]", "img", "canvas", "svg")
_BASE32_WORD = re.compile(r"[A-Za-z2-7]+=*")


def _decode(png: bytes) -> str | None:
    try:
        return read_qr(png)
    except InputError:
        return None


def qr_text(page: Page | Frame, selector: str | None = None, *,
            region: tuple[float, float, float, float] | None = None) -> str:
    """The text of the QR code on ``page``: in ``selector`` (an element screenshot), in ``region``
    (x, y, width, height in CSS pixels of the page), or the first img/canvas/svg that holds one
    (finally the whole page).  Raises :class:`QRCodeNotFoundError`."""
    if region is not None:
        shot = _page_of(page).screenshot(clip={"x": region[0], "y": region[1], "width": region[2],
                                               "height": region[3]})
        text = _decode(shot)
        if text is None:
            raise QRCodeNotFoundError(f"no QR code in the region {region}")
        return text
    if selector is not None:
        loc = page.locator(selector).first
        if loc.count() == 0:
            raise QRCodeNotFoundError(f"no element matches {selector!r}")
        text = _decode(loc.screenshot())
        if text is None:
            raise QRCodeNotFoundError(f"the element {selector!r} shows no readable QR code")
        return text
    for candidate in QR_CANDIDATES:
        loc = page.locator(candidate)
        for i in range(min(loc.count(), 8)):
            el = loc.nth(i)
            if not el.is_visible():
                continue
            box = el.bounding_box()
            if box is None or box["width"] < 21 or box["height"] < 21:  # smaller than a version-1 QR
                continue
            text = _decode(el.screenshot())
            if text is not None:
                return text
    text = _decode(_page_of(page).screenshot(full_page=True))
    if text is None:
        raise QRCodeNotFoundError("no QR code found on the page")
    return text


def _page_of(page: Page | Frame) -> Page:
    return page.page if hasattr(page, "page") else page


def _groups_fit(run: list[str]) -> bool:
    """Tokens of one displayed key: same length groups (the last may be shorter), one letter case."""
    size = len(run[0])
    if any(len(t) != size for t in run[:-1]) or len(run[-1]) > size:
        return False
    cases = {("l" if t.islower() else "u") for t in run if any(c.isalpha() for c in t)}
    return len(cases) <= 1 and all(t.isupper() or t.islower() or t.isdigit() for t in run)


def secret_from_text(text: str) -> bytes:
    """The base32 secret in a "can't scan? enter this key" text: one run of groups ("ABCD EFGH ...",
    dashes allowed) or one long word; the first and longest run that decodes to >= 80 bits wins."""
    words = [w.strip(".,:;!?()[]{}<>\"'") for w in re.split(r"[\s-]+", text)]
    ok = [bool(_BASE32_WORD.fullmatch(w)) for w in words]
    for i in range(len(words)):
        for j in range(len(words), i, -1):
            run = words[i:j]
            if not all(ok[i:j]) or not _groups_fit(run):
                continue
            joined = "".join(run).upper()
            if len(joined) < 16:
                break
            try:
                secret = decode_secret(joined)
            except InputError:
                continue
            if len(secret) >= 10:
                return secret
    raise QRCodeNotFoundError("no base32 secret (at least 16 characters) in the text")


def totp_from_page(page: Page | Frame, selector: str | None = None, *, secret_selector: str | None = None,
                   region: tuple[float, float, float, float] | None = None, reference: Clock | None = None,
                   drift: DriftModel | None = None, **kw: Any) -> VirtualTOTP:
    """Become the authenticator app for the enrollment page: a :class:`VirtualTOTP` from the page's
    QR code (or, with ``secret_selector``, from the manual-entry key; ``kw`` then sets digits, period,
    algorithm, account, issuer).  ``reference`` is the clock the device's own clock drifts against
    (``drift``); tests pass their ManualClock so no code ever waits for a step."""
    if secret_selector is not None:
        secret = secret_from_text(page.locator(secret_selector).first.inner_text())
        return VirtualTOTP(secret, reference=reference, drift=drift, **kw)
    uri = qr_text(page, selector, region=region)
    if not uri.lower().startswith("otpauth://totp/"):
        raise QRCodeNotFoundError(f"the QR code is not an otpauth://totp/ URI ({uri.split('?')[0][:40]!r})")
    return VirtualTOTP.from_uri(uri, reference=reference, drift=drift, **kw)


def fill_codes(page: Page | Frame | Locator, device: VirtualTOTP, fields: Sequence[str], *,
               submit: str | None = None, at: float | None = None) -> list[str]:
    """Type ``len(fields)`` codes into ``fields``: one field gets the current code; two or more get
    the most recent codes ending with the current one (MFA code 1 / code 2).  Clicks ``submit``
    when given.  Returns the codes typed."""
    if not fields:
        raise InputError("no code fields given")
    codes = device.last(len(fields), at=at)
    for field, code in zip(fields, codes, strict=True):
        page.locator(field).first.fill(code)
    if submit is not None:
        page.locator(submit).first.click()
    return codes
