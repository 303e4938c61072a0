"""Pure-Python backend of the hot loop (fallback when the C extension is absent)."""

from __future__ import annotations

import hmac

from ..otp import Algorithm, check_digits, truncate


class PythonPreparedKey:
    """An HMAC key whose pad states are computed once (``hmac.HMAC.copy`` keeps them)."""

    __slots__ = ("_base", "algorithm")

    def __init__(self, key: bytes, algorithm: Algorithm | str = Algorithm.SHA1) -> None:
        self.algorithm = Algorithm.parse(algorithm)
        self._base = hmac.new(bytes(key), None, self.algorithm.hashlib_name)

    def _mac(self, counter: int) -> bytes:
        h = self._base.copy()
        h.update(counter.to_bytes(8, "big"))
        return h.digest()

    def code(self, counter: int, digits: int = 6) -> str:
        check_digits(digits)
        return truncate(self._mac(counter), digits)

    def codes(self, start: int, count: int, digits: int = 6) -> list[str]:
        check_digits(digits)
        return [truncate(self._mac(c), digits) for c in range(start, start + count)]

    def scan(self, code: str, start: int, count: int, digits: int = 6) -> int | None:
        """Offset ``i`` in ``[0, count)`` of the first counter ``start + i`` whose code is ``code``.

        Every counter in the window is computed and compared in constant time, so the time
        taken does not say where (or whether) the code matched.
        """
        check_digits(digits)
        want = code.encode()
        found: int | None = None
        for i in range(count):
            got = truncate(self._mac(start + i), digits).encode()
            if hmac.compare_digest(got, want) and found is None:
                found = i
        return found
