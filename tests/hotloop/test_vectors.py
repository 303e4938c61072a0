"""RFC 4226 Appendix D and RFC 6238 Appendix B on every backend, plus the extension's presence."""

from __future__ import annotations

import doctest
import importlib
import os

import pytest

import tokens.hotloop
from tests.hotloop.conftest import FORCED_PYTHON, Backend

RFC4226_KEY = b"12345678901234567890"
RFC4226_HOTP = ["755224", "287082", "359152", "969429", "338314",
                "254676", "287922", "162583", "399871", "520489"]

RFC6238_KEYS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# (time, SHA1, SHA256, SHA512), 8 digits, period 30
RFC6238_TOTP = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def test_rfc4226_hotp(backend: Backend) -> None:
    k = backend.key(RFC4226_KEY, "SHA1")
    assert [k.code(c, 6) for c in range(10)] == RFC4226_HOTP
    assert k.codes(0, 10, 6) == RFC4226_HOTP
    for c, code in enumerate(RFC4226_HOTP):
        assert k.scan(code, 0, 10, 6) == c
        assert k.scan(code, c, 1, 6) == 0


@pytest.mark.parametrize("alg_index,alg", [(1, "SHA1"), (2, "SHA256"), (3, "SHA512")])
@pytest.mark.parametrize("row", RFC6238_TOTP, ids=lambda r: str(r[0]))
def test_rfc6238_totp(backend: Backend, row: tuple[int, str, str, str], alg_index: int, alg: str) -> None:
    t, want = row[0], row[alg_index]
    k = backend.key(RFC6238_KEYS[alg], alg)
    step = t // 30
    assert k.code(step, 8) == want
    lo = max(0, step - 2)
    assert k.scan(want, lo, 5, 8) == step - lo
    assert backend.verify([k], [want], [step + 1], 1, 1, 8) == [-1]


def test_module_doctests_on_default_backend() -> None:
    failed, attempted = doctest.testmod(tokens.hotloop)
    assert attempted >= 4 and failed == 0


def test_extension_built() -> None:
    """`pip install -e .` must have compiled the extension (the fallback is for compiler-less hosts)."""
    if FORCED_PYTHON:
        assert tokens.hotloop.BACKEND == "python"
        return
    if os.environ.get("TOKENSIM_ALLOW_NO_EXTENSION"):
        pytest.skip("TOKENSIM_ALLOW_NO_EXTENSION set: the Python fallback is accepted")
    cloop = importlib.import_module("tokens.hotloop._cloop")
    assert tokens.hotloop.BACKEND in ("c-shani", "c-portable")
    forced_portable = os.environ.get("TOKENSIM_HOTLOOP", "").strip().lower() == "portable"
    expected = "c-shani" if cloop.cpu_has_shani() and not forced_portable else "c-portable"
    assert expected == tokens.hotloop.BACKEND


@pytest.mark.parametrize("forced,expected", [("python", {"python"}), ("portable", {"c-portable", "python"})])
def test_backend_forced_by_environment(forced: str, expected: set[str]) -> None:
    """TOKENSIM_HOTLOOP picks the backend at import (python also when the extension is absent)."""
    import subprocess
    import sys

    env = {**os.environ, "TOKENSIM_HOTLOOP": forced}
    code = "import tokens.hotloop as h; print(h.BACKEND, h.PreparedKey(b'12345678901234567890').code(1))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout.split()
    assert out[0] in expected and out[1] == "287082"
