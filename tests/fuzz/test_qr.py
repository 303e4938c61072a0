"""Adversarial: QR image import.

``read_qr`` gets arbitrary bytes, arbitrary bytes behind the magic numbers of the formats Pillow
reads, and PNG files with forged headers (any size, bit depth, colour type, interlace) and random
compressed data.  It returns the QR text or raises ``InputError`` — never anything else, and never
decodes an image larger than ``MAX_QR_PIXELS``.
"""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokens.errors import InputError
from tokens.qr import qr_png_bytes, read_qr

from ._settings import FUZZ

pytestmark = pytest.mark.timeout(180)

MAGIC = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"BM", b"II*\x00", b"MM\x00*",
         b"RIFF\x00\x00\x00\x00WEBP", b"P5\n", b"P6\n", b"\x00\x00\x01\x00", b"8BPS", b"qoif"]


def check(data: bytes) -> None:
    try:
        text = read_qr(data)
    except InputError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert isinstance(text, str) and text


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=2000))
def test_arbitrary_bytes_behind_a_format_magic(magic: bytes, rest: bytes) -> None:
    check(magic + rest)


@FUZZ
@given(width=st.one_of(st.integers(0, 64), st.integers(0, 2**31 - 1), st.sampled_from([30000, 12000, 2**31])),
       height=st.one_of(st.integers(0, 64), st.integers(0, 2**31 - 1), st.sampled_from([30000, 1, 2**31])),
       depth=st.sampled_from([1, 2, 4, 8, 16, 0, 3, 255]), colour=st.sampled_from([0, 2, 3, 4, 6, 1, 255]),
       interlace=st.sampled_from([0, 1, 2]), pixels=st.binary(max_size=4096), raw_idat=st.booleans(),
       extra=st.lists(st.tuples(st.sampled_from([b"PLTE", b"tRNS", b"iCCP", b"zTXt", b"acTL", b"fcTL"]),
                                st.binary(max_size=64)), max_size=3))
def test_forged_png_headers(width: int, height: int, depth: int, colour: int, interlace: int, pixels: bytes,
                            raw_idat: bool, extra: list[tuple[bytes, bytes]]) -> None:
    ihdr = struct.pack(">IIBBBBB", width & 0xFFFFFFFF, height & 0xFFFFFFFF, depth, colour, 0, 0, interlace)
    body = b"".join(chunk(k, v) for k, v in extra)
    idat = pixels if raw_idat else zlib.compress(pixels)
    check(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@FUZZ
@given(st.data())
def test_damaged_real_qr_png(data: st.DataObject) -> None:
    png = bytearray(qr_png_bytes("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(png) - 1))
        png[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(png)))
    check(bytes(png[:cut]))
