"""The verifier's inner loop: HMAC over a window of counters, truncation, constant-time compare.

Keys
----
``PreparedKey(key, algorithm="SHA1")`` hashes the HMAC inner/outer pads once; after that every
code costs two compression-function calls (SHA-1/SHA-256 on 64-byte blocks, SHA-512 on 128-byte
blocks).

    >>> k = PreparedKey(b"12345678901234567890", "SHA1")
    >>> k.code(1, 6)
    '287082'
    >>> k.codes(0, 3, 6)
    ['755224', '287082', '359152']
    >>> k.scan("287082", start=0, count=3, digits=6)
    1

``scan(code, start, count, digits)`` computes and compares *every* counter of the window
``[start, start + count)`` (constant time: the time does not reveal where or whether the code
matched) and returns the offset of the first match, or ``None``.  The verifier uses it for
``verify`` (a few steps) and ``resync`` (±24 h = 5761 steps: about 0.3 ms with SHA-NI).

Batch verification
------------------
``verify_batch(keys, codes, centres, *, behind=1, ahead=1, digits=6, threads=1)`` checks item
``i`` = (``keys[i]``, ``codes[i]``, ``centres[i]``) against the window
``[centres[i] - behind, centres[i] + ahead]`` (clipped at 0 and 2**64-1) and returns, per item,
the signed offset ``matched_counter - centre`` of the first (lowest) matching counter, or ``None``
for a miss.  ``centres`` are HOTP counters or TOTP steps (``steps_at(times, period)`` converts
Unix times).  ``digits`` is one int or one per item.  The whole loop runs in C without the GIL;
``threads=N`` spreads the batch over N threads (``None`` or ``0``: every usable CPU), results are
identical whatever the thread count.

    >>> verify_batch([k, k, k], ["287082", "000000", "755224"], [0, 5, 1])
    [1, None, -1]

Inputs are checked before any hashing: a code must be a ``str`` of exactly ``digits`` ASCII
digits, digits 6, 7 or 8, counters ints in [0, 2**64); anything else raises
:class:`tokens.errors.InputError` (for batches, the message names the first bad item).

Backends
--------
``BACKEND`` is ``"c-shani"`` (C extension, x86 SHA extensions found by cpuid at import),
``"c-portable"`` (C extension, portable C hashing) or ``"python"`` (the extension was not built).
Set ``TOKENSIM_HOTLOOP=python`` (or ``portable``) before import to force a backend; the results
are identical (tests/hotloop compares every output of all of them).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from . import _checks, _python
from ._python import PythonPreparedKey

_forced = os.environ.get("TOKENSIM_HOTLOOP", "").strip().lower()

if TYPE_CHECKING:
    from ._python import PythonPreparedKey as PreparedKey
else:
    try:
        if _forced == "python":
            raise ImportError("forced by TOKENSIM_HOTLOOP=python")
        from . import _c, _cloop
    except ImportError:
        _c = None
    if _c is None:
        PreparedKey = PythonPreparedKey
    else:
        if _forced == "portable":
            _cloop.set_implementation("portable")
        PreparedKey = _c.CPreparedKey


def _backend() -> str:
    if PreparedKey is PythonPreparedKey:
        return "python"
    from . import _cloop

    return "c-shani" if _cloop.implementation() == "shani" else "c-portable"


BACKEND: str = _backend()


def verify_batch(keys: Sequence[PreparedKey], codes: Sequence[str], centres: Sequence[int], *,
                 behind: int = 1, ahead: int = 1, digits: int | Sequence[int] = 6,
                 threads: int | None = 1) -> list[int | None]:
    """Per item: signed offset from its centre of the first matching counter, or ``None``.

    See the module docstring for the semantics; ``threads`` > 1 only changes the speed.
    """
    n_threads = _checks.resolve_threads(threads)
    _checks.side(behind, "behind")
    _checks.side(ahead, "ahead")
    if PreparedKey is PythonPreparedKey:
        return _python.verify_batch(keys, codes, centres, behind, ahead, digits)
    from . import _c

    return _c.verify_batch(keys, codes, centres, behind, ahead, digits, n_threads)  # type: ignore[arg-type]


def steps_at(times: Iterable[float], period: int = 30, t0: float = 0.0) -> list[int]:
    """RFC 6238 time steps ``floor((t - t0) / period)`` for many Unix times (batch ``centres``)."""
    return [math.floor((t - t0) / period) for t in times]


__all__ = ["BACKEND", "PreparedKey", "steps_at", "verify_batch"]
