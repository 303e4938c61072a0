"""Compatibility path: the authenticator lives in :mod:`tokens.fido2.authenticator.core`."""

from __future__ import annotations

from .authenticator.core import Authenticator, decode_request

__all__ = ["Authenticator", "decode_request"]
