"""The verifier's inner loop: HMAC over a window of counters, truncation, constant-time compare.

``PreparedKey`` precomputes the HMAC inner/outer pad states once per key; every code after that
costs two hash-compression calls (SHA-1/SHA-256).  The backend is chosen at import time: the C
extension when it was built, else the pure-Python fallback with identical results.

    >>> k = PreparedKey(b"12345678901234567890", "SHA1")
    >>> k.code(1, 6)
    '287082'
    >>> k.scan("287082", start=0, count=3, digits=6)
    1
"""

from __future__ import annotations

from ._python import PythonPreparedKey

PreparedKey = PythonPreparedKey
BACKEND = "python"

__all__ = ["BACKEND", "PreparedKey"]
