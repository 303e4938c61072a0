"""Serial-attached OTP tokens: the wire format (:mod:`hw.protocol`), the driver
(:class:`hw.token.SerialToken` over :class:`hw.link.Link`) and port discovery (:mod:`hw.discovery`).

Heavy imports (pyserial, python-fido2) happen inside the functions that need them.
"""

from __future__ import annotations

from .errors import HwError, MalformedReply, NotResponding, PinError, PortError, ProtocolError, Unplugged
from .token import SerialToken

__all__ = ["HwError", "MalformedReply", "NotResponding", "PinError", "PortError", "ProtocolError",
           "SerialToken", "Unplugged"]
