"""Compatibility path: see :mod:`tokens.fido2.transport.udp`."""

from __future__ import annotations

from .transport.udp import (
    DEFAULT_PORT,
    DEFAULT_REPLY_PORT,
    UdpCtapHidConnection,
    UdpCtapHidServer,
    open_udp_device,
)

__all__ = ["DEFAULT_PORT", "DEFAULT_REPLY_PORT", "UdpCtapHidConnection", "UdpCtapHidServer",
           "open_udp_device"]
