"""Fast canonical CBOR for the authenticator's hot path.

:func:`encode` gives the same bytes as ``fido2.cbor.encode`` (CTAP2 canonical form: shortest integer
encodings, map keys sorted by major type, then length, then bytes) but dispatches on the exact type
instead of walking an isinstance chain over ABCs.  Values of other types fall back to python-fido2.

:func:`decode_canonical` accepts exactly what ``fido2.cbor.decode`` decodes *and* re-encodes to the
same bytes — one pass instead of decode + encode + compare — and raises ``ValueError`` otherwise.
Both equivalences are property-tested against python-fido2 (tests/fuzz/test_fido2.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from fido2 import cbor as _reference

_HEAD_1 = struct.Struct(">BB").pack
_HEAD_2 = struct.Struct(">BH").pack
_HEAD_4 = struct.Struct(">BI").pack
_HEAD_8 = struct.Struct(">BQ").pack


def _head(mt: int, n: int) -> bytes:
    if n <= 23:
        return bytes((mt | n,))
    if n <= 0xFF:
        return _HEAD_1(mt | 24, n)
    if n <= 0xFFFF:
        return _HEAD_2(mt | 25, n)
    if n <= 0xFFFFFFFF:
        return _HEAD_4(mt | 26, n)
    return _HEAD_8(mt | 27, n)


def _int(v: int) -> bytes:
    return _head(0x20, -1 - v) if v < 0 else _head(0x00, v)


def _bytes(v: bytes) -> bytes:
    return _head(0x40, len(v)) + v


def _text(v: str) -> bytes:
    b = v.encode("utf-8")
    return _head(0x60, len(b)) + b


def _bool(v: bool) -> bytes:
    return b"\xf5" if v else b"\xf4"


def _list(v: list[Any] | tuple[Any, ...]) -> bytes:
    return _head(0x80, len(v)) + b"".join([encode(x) for x in v])


def _sort_key(item: tuple[bytes, bytes]) -> tuple[int, int, bytes]:
    k = item[0]
    return k[0], len(k), k


def _dict(v: dict[Any, Any]) -> bytes:
    items = sorted([(encode(k), encode(x)) for k, x in v.items()], key=_sort_key)
    return _head(0xA0, len(items)) + b"".join([k + x for k, x in items])


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    int: _int, bool: _bool, bytes: _bytes, str: _text, list: _list, tuple: _list, dict: _dict,
}


def encode(value: Any) -> bytes:
    enc = _ENCODERS.get(type(value))
    if enc is None:
        if isinstance(value, int) and not isinstance(value, bool):  # IntEnum keys (python-fido2's enums)
            return _int(int(value))
        return _reference.encode(value)
    return enc(value)


MAX_DEPTH = 64


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise ValueError("truncated CBOR")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def head(self) -> tuple[int, int, int, int]:
        """(major type, additional info, argument, offset of the item)."""
        start = self.pos
        if start >= len(self.data):
            raise ValueError("truncated CBOR")
        fb = self.data[start]
        self.pos = start + 1
        mt, ai = fb >> 5, fb & 0x1F
        if ai < 24 or mt == 7:
            return mt, ai, ai, start
        if ai > 27:
            raise ValueError("indefinite or reserved length")
        size = 1 << (ai - 24)
        n = int.from_bytes(self.take(size), "big")
        if n < (24 if size == 1 else 1 << (4 * size)):
            raise ValueError("non-canonical integer or length")
        return mt, ai, n, start

    def item(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("CBOR nested too deeply")
        mt, ai, n, start = self.head()
        if mt == 0:
            return n
        if mt == 1:
            return -1 - n
        if mt == 2:
            return self.take(n)
        if mt == 3:
            return self.take(n).decode("utf-8")
        if mt == 4:
            return [self.item(depth + 1) for _ in range(n)]
        if mt == 5:
            out: dict[Any, Any] = {}
            previous: tuple[int, int, bytes] | None = None
            for _ in range(n):
                key_start = self.pos
                key = self.item(depth + 1)
                raw = self.data[key_start:self.pos]
                order = (raw[0], len(raw), raw)
                if isinstance(key, list | dict) or key in out or (previous is not None and order <= previous):
                    raise ValueError("map keys not canonical")
                previous = order
                out[key] = self.item(depth + 1)
            return out
        if mt == 7 and ai in (20, 21):
            return ai == 21
        raise ValueError(f"unsupported CBOR item 0x{self.data[start]:02x}")


def decode_canonical(data: bytes) -> Any:
    r = _Reader(data)
    value = r.item(0)
    if r.pos != len(data):
        raise ValueError("extraneous data after CBOR item")
    return value
