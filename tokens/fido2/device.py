"""Compatibility path: see :mod:`tokens.fido2.adapters.device`."""

from __future__ import annotations

from .adapters.device import Fido2Device, open_named

__all__ = ["Fido2Device", "open_named"]
