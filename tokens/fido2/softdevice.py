"""Compatibility path: see :mod:`tokens.fido2.transport.softdevice`."""

from __future__ import annotations

from .transport.softdevice import VENDOR_POWER_CYCLE, SoftCtapDevice

__all__ = ["VENDOR_POWER_CYCLE", "SoftCtapDevice"]
