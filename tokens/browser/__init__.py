"""MFA enrollment in a real browser: Playwright pages backed by tokensim devices.

Layers, bottom up:
  _shim            the init script: navigator.credentials / PublicKeyCredential look-alikes -> a binding
  responses        python-fido2 client results -> PublicKeyCredential JSON (publicKey, transports ...)
  webauthn         VirtualWebAuthn: the binding's Python side, python-fido2's Fido2Client on a tokensim
                   authenticator, DOMException mapping, faults and presence switchable mid-test
  totp             QR code (img/canvas/svg/region) or manual key -> VirtualTOTP; typing one or two codes
  rp_model, rp_app the demo relying party (TOTP via tokensim's verifier, WebAuthn via Fido2Server or
                   py_webauthn, its own sign-counter check) and RPServer to run it
  pytest_fixtures  webauthn / totp_from_page / demo_rp fixtures composing with pytest-playwright

Nothing here imports Playwright at run time: pass in the Page or BrowserContext you already have.
See docs/browser.md.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule; imported on first use, so loading the pytest plugin stays cheap
_EXPORTS = {
    "AttachError": "errors", "BrowserError": "errors", "BrowserUnavailableError": "errors",
    "CeremonyError": "errors", "DomErrorName": "errors", "QRCodeNotFoundError": "errors",
    "chromium_executable": "launch", "launch_options": "launch",
    "fill_codes": "totp", "qr_text": "totp", "secret_from_text": "totp", "totp_from_page": "totp",
    "Ceremony": "webauthn", "VirtualWebAuthn": "webauthn", "attach_webauthn": "webauthn",
    "dom_error": "webauthn",
    "RPServer": "rp_app", "RelyingParty": "rp_model", "WebAuthnVerifier": "rp_model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
