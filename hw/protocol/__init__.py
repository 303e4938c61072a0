"""The serial token wire format (docs/serial-protocol.md), shared by the firmware simulator and
the host driver: :mod:`.framing` (COBS + CRC-16 frames) and :mod:`.commands` (command/status codes
and the request/response records)."""

from __future__ import annotations

from .commands import (
    PROTOCOL_VERSION,
    Capabilities,
    Cmd,
    CodeReply,
    DeviceState,
    InfoReply,
    Request,
    Response,
    SetTimeRequest,
    SlotConfig,
    SlotInfo,
    SlotType,
    Status,
    TimeReply,
)
from .framing import (
    MAX_FRAME,
    FrameDecoder,
    FrameError,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode_frame,
)

__all__ = [
    "MAX_FRAME", "PROTOCOL_VERSION", "Capabilities", "Cmd", "CodeReply", "DeviceState", "FrameDecoder",
    "FrameError", "InfoReply", "Request", "Response", "SetTimeRequest", "SlotConfig", "SlotInfo", "SlotType",
    "Status", "TimeReply", "cobs_decode", "cobs_encode", "crc16", "decode_frame", "encode_frame",
]
