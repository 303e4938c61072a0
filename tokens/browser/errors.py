"""Errors of the browser layer.

    TokensimError
    └── BrowserError                     something tokens.browser could not do
        ├── BrowserUnavailableError      no Chromium/Playwright to drive (extra or package missing)
        ├── QRCodeNotFoundError (InputError)  no QR code / secret text on the page where we looked
        ├── AttachError                  the authenticator cannot be attached or lacks the feature
        └── CeremonyError                a WebAuthn ceremony failed; ``name`` is the DOMException name
                                         a browser would reject the page's promise with

Errors raised *inside the page* are real JavaScript errors: ``DOMException`` with ``name`` one of
NotAllowedError, InvalidStateError, SecurityError, NotSupportedError, AbortError, UnknownError (or a
``TypeError`` for malformed options), exactly as a browser's own WebAuthn implementation rejects.
"""

from __future__ import annotations

from enum import Enum

from ..errors import InputError, TokensimError


class DomErrorName(str, Enum):
    """The names a browser's WebAuthn promise is rejected with."""

    NOT_ALLOWED = "NotAllowedError"
    INVALID_STATE = "InvalidStateError"
    SECURITY = "SecurityError"
    NOT_SUPPORTED = "NotSupportedError"
    ABORT = "AbortError"
    UNKNOWN = "UnknownError"
    TYPE = "TypeError"  # a JavaScript TypeError, not a DOMException


class BrowserError(TokensimError):
    """Base of the browser layer's errors."""


class BrowserUnavailableError(BrowserError):
    """Playwright or a Chromium it can drive is not installed."""


class QRCodeNotFoundError(BrowserError, InputError):
    """The page shows no QR code (or secret text) where we looked."""


class AttachError(BrowserError):
    """The authenticator cannot be attached, or cannot do what was asked (e.g. faults on a USB key)."""


class CeremonyError(BrowserError):
    """A WebAuthn ceremony failed the way a browser would report it."""

    def __init__(self, name: DomErrorName, message: str) -> None:
        super().__init__(f"{name.value}: {message}")
        self.name = name
        self.message = message
