"""Frame layer: COBS byte stuffing, CRC-16/CCITT-FALSE, 0x00 delimiters.

A frame on the wire is ``0x00 COBS(body ‖ CRC16(body) big-endian) 0x00``.  The body is at most
:data:`MAX_FRAME` bytes.  :class:`FrameDecoder` is an incremental decoder fed arbitrary chunks of
the byte stream; it yields every complete frame body whose CRC checks, counts the rest, and
resynchronises on the next delimiter after garbage or an overlong run.
"""

from __future__ import annotations

import binascii

from .errors import FrameError as FrameError  # re-exported

MAX_FRAME = 250  # body bytes before the CRC (see docs/serial-protocol.md §2)
CRC_LEN = 2
# longest COBS encoding of body + CRC: one overhead byte per started 254-byte block
MAX_ENCODED = MAX_FRAME + CRC_LEN + (MAX_FRAME + CRC_LEN) // 254 + 1
DELIMITER = b"\x00"


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor (check 0x29B1)."""
    return binascii.crc_hqx(data, 0xFFFF)


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the output contains no 0x00 byte."""
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raises FrameError on a malformed encoding."""
    out = bytearray()
    i, n = 0, len(data)
    if n == 0:
        raise FrameError("empty COBS block")
    while i < n:
        code = data[i]
        if code == 0:
            raise FrameError("zero byte inside a COBS frame")
        end = i + code
        if end > n:
            raise FrameError("COBS block runs past the end of the frame")
        chunk = data[i + 1:end]
        if 0 in chunk:
            raise FrameError("zero byte inside a COBS frame")
        out += chunk
        i = end
        if code != 255 and i < n:
            out.append(0)
    return bytes(out)


def check_body(body: bytes) -> None:
    """Raise FrameError if ``body`` cannot travel in one frame."""
    if len(body) > MAX_FRAME:
        raise FrameError(f"frame body of {len(body)} bytes exceeds the maximum of {MAX_FRAME}")


def encode_frame(body: bytes) -> bytes:
    """Body → delimited wire bytes (leading delimiter included so receivers resynchronise)."""
    check_body(body)
    raw = body + crc16(body).to_bytes(2, "big")
    return DELIMITER + cobs_encode(raw) + DELIMITER


def decode_frame(encoded: bytes) -> bytes:
    """COBS-encoded bytes between two delimiters → body (CRC checked and stripped)."""
    if len(encoded) > MAX_ENCODED:
        raise FrameError(f"frame of {len(encoded)} encoded bytes is too long")
    raw = cobs_decode(encoded)
    if len(raw) < CRC_LEN + 1:
        raise FrameError("frame too short")
    body, crc = raw[:-CRC_LEN], int.from_bytes(raw[-CRC_LEN:], "big")
    if crc16(body) != crc:
        raise FrameError(f"CRC mismatch (got {crc:04x}, computed {crc16(body):04x})")
    return body


class FrameDecoder:
    """Incremental decoder: ``feed(chunk)`` returns the good frame bodies completed by ``chunk``.

    Empty frames (two delimiters in a row) are ignored; bad frames bump :attr:`errors`; a run of
    more than MAX_ENCODED bytes without a delimiter is discarded up to the next delimiter.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._overflow = False
        self.errors = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        out: list[bytes] = []
        start = 0
        while True:
            idx = chunk.find(0, start)
            if idx < 0:
                self._append(chunk[start:])
                return out
            self._append(chunk[start:idx])
            start = idx + 1
            if self._overflow:
                self.errors += 1
            elif self._buf:
                try:
                    out.append(decode_frame(bytes(self._buf)))
                except FrameError:
                    self.errors += 1
            self._buf.clear()
            self._overflow = False

    def _append(self, part: bytes) -> None:
        if self._overflow or not part:
            return
        self._buf += part
        if len(self._buf) > MAX_ENCODED:
            self._buf.clear()
            self._overflow = True

    def reset(self) -> None:
        self._buf.clear()
        self._overflow = False
