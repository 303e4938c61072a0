"""The root of the serial stack's error tree and the wire-format errors (drawn in :mod:`hw.errors`).

They live here, in the lowest layer, because the wire format (:mod:`.framing`, :mod:`.commands`)
raises them and is shared by the driver and the firmware simulator; :mod:`hw.errors` re-exports
them with the rest of the tree.
"""

from __future__ import annotations

from tokens.errors import DeviceError


class HwError(DeviceError):
    """Base of the serial driver's errors."""


class WireFormatError(HwError, ValueError):
    """Bytes that do not follow the wire format (docs/serial-protocol.md)."""


class FrameError(WireFormatError):
    """A frame that does not decode (bad COBS, too short/long, CRC mismatch)."""


class PayloadError(WireFormatError):
    """A payload that does not match its record's layout."""


class BadValueError(PayloadError):
    """A payload of the right layout with a field value out of range (an unknown type or hash code)."""
