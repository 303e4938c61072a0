"""The browser fixtures' companion: pytest-playwright's launch arguments pointed at the system Chromium.

The fixtures themselves live in tokensim's pytest plugin (``pytest_tokensim``, imported lazily)::

    webauthn                 a VirtualWebAuthn attached to ``context`` (markers choose PIN/UV/attestation)
    webauthn_factory(...)    more of them: ``webauthn_factory(target, authenticator=None, pin=..., uv=...,
                             attestation=..., platform=False)``
    totp_from_page(page, selector=None, **kw)   a VirtualTOTP from the page's QR code, on ``mfa_clock``
    demo_rp                  the demo relying party on a free port, its clock ``mfa_clock``
    demo_rp_factory(verifier="fido2"|"py_webauthn")

Markers (on a test or a module)::

    @pytest.mark.webauthn_pin("1234")        the authenticator has this PIN; the bridge types it
    @pytest.mark.webauthn_uv("auto")         built-in UV: none (default), auto (matches), deny
    @pytest.mark.webauthn_attestation("batch")   none, self (default) or batch (x5c chain)

``browser_type_launch_args`` is NOT registered: import it into your conftest.py to launch the
system's Chromium when Playwright has not downloaded its own (``from
tokens.browser.pytest_fixtures import browser_type_launch_args``).
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments plus the system Chromium when Playwright has none of its own.

    Fails (never skips) when there is no Chromium at all: a browser suite that silently skips in CI
    tests nothing."""
    from .errors import BrowserUnavailableError
    from .launch import chromium_executable

    try:
        exe = chromium_executable()
    except BrowserUnavailableError as e:
        pytest.fail(str(e), pytrace=False)
    return {**browser_type_launch_args, **({"executable_path": exe} if exe else {})}
