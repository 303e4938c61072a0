"""Pure-Python backend of the hot loop (the fallback when the C extension is absent).

Same API, same results and same errors as the compiled backend; about 30-100x slower.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from ..errors import InputError
from ..otp import Algorithm
from . import _checks


class PythonPreparedKey:
    """An HMAC key whose inner/outer pad states are hashed once (hashlib objects copied per code)."""

    __slots__ = ("_inner", "_outer", "algorithm")

    def __init__(self, key: bytes, algorithm: Algorithm | str = Algorithm.SHA1) -> None:
        self.algorithm = Algorithm.parse(algorithm)
        raw = _checks.key_bytes(key)
        name = self.algorithm.hashlib_name
        block = hashlib.new(name).block_size
        if len(raw) > block:
            raw = hashlib.new(name, raw).digest()
        raw = raw.ljust(block, b"\0")
        self._inner = hashlib.new(name, bytes(b ^ 0x36 for b in raw))
        self._outer = hashlib.new(name, bytes(b ^ 0x5C for b in raw))

    def __repr__(self) -> str:
        return f"<PythonPreparedKey {self.algorithm.value}>"

    def _value(self, counter: int) -> int:
        """31-bit dynamic truncation (RFC 4226 §5.3) of HMAC(key, counter)."""
        inner = self._inner.copy()
        inner.update(counter.to_bytes(8, "big"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        mac = outer.digest()
        off = mac[-1] & 0x0F
        return int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF

    def code(self, counter: int, digits: int = 6) -> str:
        d = _checks.digits_of(digits)
        c = _checks.u64(counter, "counter")
        return str(self._value(c) % 10**d).zfill(d)

    def codes(self, start: int, count: int, digits: int = 6) -> list[str]:
        d = _checks.digits_of(digits)
        s, n = _checks.window(start, count)
        mod = 10**d
        return [str(self._value(c) % mod).zfill(d) for c in range(s, s + n)]

    def scan(self, code: str, start: int, count: int, digits: int = 6) -> int | None:
        """Offset ``i`` in ``[0, count)`` of the first counter ``start + i`` whose code is ``code``.

        Every counter in the window is computed and compared in constant time, so the time
        taken does not say where (or whether) the code matched.
        """
        d = _checks.digits_of(digits)
        want = _checks.code_value(code, d).to_bytes(4, "big")
        s, n = _checks.window(start, count)
        mod = 10**d
        found: int | None = None
        for i in range(n):
            got = (self._value(s + i) % mod).to_bytes(4, "big")
            if hmac.compare_digest(got, want) and found is None:
                found = i
        return found


def verify_batch(keys: Sequence[PythonPreparedKey], codes: Sequence[str], centres: Sequence[int],
                 behind: int, ahead: int, digits: int | Sequence[int]) -> list[int | None]:
    """Reference implementation of :func:`tokens.hotloop.verify_batch` (no threads)."""
    b, a = _checks.side(behind, "behind"), _checks.side(ahead, "ahead")
    digit_seq: Sequence[int] | None = None
    if isinstance(digits, int):
        scalar = _checks.digits_of(digits)
    else:
        digit_seq = _checks.sequence(digits, "digits")
    ks = _checks.sequence(keys, "keys")
    cs = _checks.sequence(codes, "codes")
    ts = _checks.sequence(centres, "centres")
    if len(cs) != len(ks) or len(ts) != len(ks) or (digit_seq is not None and len(digit_seq) != len(ks)):
        raise InputError("keys, codes, centres (and a digits sequence) must have the same length")
    parsed = []
    for i, (k, c, t) in enumerate(zip(ks, cs, ts, strict=True)):
        if not isinstance(k, PythonPreparedKey):
            raise InputError(f"item {i}: key must be a Python PreparedKey (got {type(k).__name__})")
        try:
            d = _checks.digits_of(digit_seq[i]) if digit_seq is not None else scalar
            _checks.code_value(c, d)
            centre = _checks.u64(t, "centre")
        except InputError as e:
            raise InputError(f"item {i}: {e}") from None
        lo = max(0, centre - b)
        hi = min(_checks.U64_MAX, centre + a)
        parsed.append((k, c, lo, hi - lo + 1, centre - lo, d))
    out: list[int | None] = []
    for k, c, lo, n, lead, d in parsed:
        f = k.scan(c, lo, n, d)
        out.append(None if f is None else f - lead)
    return out
