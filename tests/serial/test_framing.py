"""Frame layer: CRC-16/CCITT-FALSE, COBS, the incremental decoder and the documented example."""

from __future__ import annotations

import binascii
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.protocol import framing
from hw.protocol.commands import Cmd, Request, Response
from hw.protocol.framing import (
    FrameDecoder,
    FrameError,
    cobs_decode,
    cobs_encode,
    crc16,
    decode_frame,
    encode_frame,
)

# (data, COBS encoding): examples from the COBS paper / Wikipedia table
COBS_VECTORS = [
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01"),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255)) + b"\x01"),
]


def _bitwise_crc(data: bytes) -> int:
    """Reference CRC-16/CCITT-FALSE, bit by bit (poly 0x1021, init 0xFFFF)."""
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF


@given(st.binary(max_size=300))
def test_crc_matches_bitwise_reference(data: bytes) -> None:
    assert crc16(data) == _bitwise_crc(data) == binascii.crc_hqx(data, 0xFFFF)


@pytest.mark.parametrize(("data", "encoded"), COBS_VECTORS)
def test_cobs_vectors(data: bytes, encoded: bytes) -> None:
    assert cobs_encode(data) == encoded
    assert cobs_decode(encoded) == data


@given(st.binary(max_size=1200))
def test_cobs_round_trip_and_no_zero(data: bytes) -> None:
    enc = cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + 1 + len(data) // 254
    assert cobs_decode(enc) == data


@pytest.mark.parametrize("bad", [b"", b"\x05\x11", b"\x02\x00", b"\x03\x11\x00"])
def test_cobs_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(FrameError):
        cobs_decode(bad)


@given(st.binary(min_size=1, max_size=framing.MAX_FRAME))
def test_frame_round_trip(body: bytes) -> None:
    wire = encode_frame(body)
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    assert decode_frame(wire[1:-1]) == body
    assert list(FrameDecoder().feed(wire)) == [body]


def test_frame_too_long_is_refused() -> None:
    with pytest.raises(FrameError):
        encode_frame(bytes(framing.MAX_FRAME + 1))


def test_crc_error_detected() -> None:
    wire = bytearray(encode_frame(b"\x01\x02\x03"))
    wire[2] ^= 0x40
    dec = FrameDecoder()
    assert list(dec.feed(bytes(wire))) == []
    assert dec.errors == 1


@given(st.binary(max_size=400), st.lists(st.binary(min_size=1, max_size=60), min_size=1, max_size=5),
       st.integers(min_value=1, max_value=17))
def test_decoder_resynchronises_after_garbage_in_any_chunking(garbage: bytes, bodies: list[bytes],
                                                               chunk: int) -> None:
    stream = garbage + b"".join(encode_frame(b) for b in bodies)
    dec = FrameDecoder()
    got = []
    for i in range(0, len(stream), chunk):
        got += list(dec.feed(stream[i:i + chunk]))
    # garbage may (rarely) contain a valid frame of its own; the real frames all come out, in order
    assert got[-len(bodies):] == bodies


def test_overlong_run_is_discarded() -> None:
    dec = FrameDecoder()
    assert list(dec.feed(b"\x11" * (framing.MAX_ENCODED + 50))) == []
    assert list(dec.feed(b"\x22\x00" + encode_frame(b"ok"))) == [b"ok"]
    assert dec.errors == 1


def test_documented_example_frame_matches() -> None:
    """docs/serial-protocol.md shows GET_CODE slot 0, seq 7 as hex; the code must produce exactly that."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "serial-protocol.md").read_text()
    req = Request(seq=7, cmd=Cmd.GET_CODE, payload=b"\x00").to_bytes()
    assert f"{crc16(req):04X}" in doc
    m = re.search(r"wire bytes \(request\):\s*`([0-9A-F ]+)`", doc)
    assert m, "example request frame not found in the document"
    assert bytes.fromhex(m.group(1)) == encode_frame(req)
    resp_body = Response(seq=7, cmd=Cmd.GET_CODE, status=0).to_bytes()
    assert resp_body[:4] == b"\x01\x07\x85\x00"
