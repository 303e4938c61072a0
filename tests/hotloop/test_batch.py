"""verify_batch semantics: windows, clipping at both ends, misses, duplicates, threads."""

from __future__ import annotations

import random

import pytest

import tokens.hotloop as hotloop
from tests.hotloop.conftest import Backend, backend_names, make_backend, use
from tests.hotloop.test_parity import pyotp_code
from tokens.errors import InputError

KEY = b"12345678901234567890"
RFC = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
U64_MAX = 2**64 - 1


def test_offsets_are_signed_from_the_centre(backend: Backend) -> None:
    k = backend.key(KEY, "SHA1")
    got = backend.verify([k] * 5, [RFC[4], RFC[5], RFC[6], RFC[2], RFC[8]], [5] * 5, 1, 1, 6)
    assert got == [-1, 0, 1, None, None]
    assert backend.verify([k] * 2, [RFC[2], RFC[8]], [5, 5], 3, 3, 6) == [-3, 3]


def test_window_clipped_at_counter_zero(backend: Backend) -> None:
    k = backend.key(KEY, "SHA1")
    got = backend.verify([k] * 4, [RFC[0], RFC[1], RFC[2], RFC[3]], [0, 0, 0, 1], 5, 1, 6)
    assert got == [0, 1, None, None]
    assert backend.verify([k], [RFC[0]], [1], 5, 0, 6) == [-1]


def test_window_clipped_at_the_top_counter(backend: Backend) -> None:
    k = backend.key(KEY, "SHA256")
    top = [pyotp_code(KEY, "SHA256", c, 7) for c in (U64_MAX - 1, U64_MAX)]
    assert backend.verify([k, k], top, [U64_MAX, U64_MAX], 1, 10, 7) == [-1, 0]
    assert backend.verify([k], [top[1]], [U64_MAX - 2], 0, 2, 7) == [2]


def test_zero_width_window_and_empty_batch(backend: Backend) -> None:
    k = backend.key(KEY, "SHA1")
    assert backend.verify([k, k], [RFC[3], RFC[4]], [3, 3], 0, 0, 6) == [0, None]
    assert backend.verify([], [], [], 1, 1, 6) == []


def test_duplicates_and_mixed_algorithms_and_digits(backend: Backend) -> None:
    keys = {a: backend.key(KEY * 2, a) for a in ("SHA1", "SHA256", "SHA512")}
    items = [(a, d, c) for a in keys for d in (6, 7, 8) for c in (0, 7, 2**40)]
    codes = [pyotp_code(KEY * 2, a, c + 1, d) for a, d, c in items]
    once = backend.verify([keys[a] for a, _, _ in items], codes, [c for _, _, c in items], 1, 1,
                          [d for _, d, _ in items])
    assert once == [1] * len(items)
    twice = backend.verify([keys[a] for a, _, _ in items] * 2, codes * 2, [c for _, _, c in items] * 2, 1, 1,
                           [d for _, d, _ in items] * 2)
    assert twice == once * 2


def _repeated_code(k: object) -> tuple[int, int, str]:
    """Two counters i < j (j - i <= 2000) of one key that give the same 6-digit code."""
    codes = k.codes(0, 4000, 6)  # type: ignore[attr-defined]
    seen: dict[str, int] = {}
    for c, code in enumerate(codes):
        if code in seen and c - seen[code] <= 2000:
            return seen[code], c, code
        seen[code] = c
    raise AssertionError("no repeated code in 4000 counters")


def test_first_match_wins(backend: Backend) -> None:
    k = backend.key(b"first-match-key-0001", "SHA1")
    i, j, code = _repeated_code(k)
    assert k.scan(code, i, j - i + 1, 6) == 0
    assert k.scan(code, i + 1, j - i, 6) == j - i - 1
    centre = (i + j) // 2
    side = j - centre + 1
    assert backend.verify([k], [code], [centre], side, side, 6) == [i - centre]


@pytest.mark.parametrize("name", [n for n in backend_names() if n != "python"])
def test_threads_give_identical_results(name: str) -> None:
    backend = make_backend(name)
    use(backend)
    rng = random.Random(6238)
    keys = [backend.key(rng.randbytes(20), rng.choice(["SHA1", "SHA256", "SHA512"])) for _ in range(50)]
    n = 9000
    ks = [keys[rng.randrange(50)] for _ in range(n)]
    centres = [rng.randrange(0, 2**31) for _ in range(n)]
    codes = [k.code(c + rng.randrange(-2, 3), 6) if rng.random() < 0.6 else "123456"
             for k, c in zip(ks, centres, strict=True)]
    one = backend.verify(ks, codes, centres, 1, 1, 6, 1)
    assert sum(r is not None for r in one) > n // 3
    for t in (2, 3, 7):
        assert backend.verify(ks, codes, centres, 1, 1, 6, t) == one
    bad = list(codes)
    bad[5000], bad[8000] = "12x456", "1"
    with pytest.raises(InputError, match="item 5000"):
        backend.verify(ks, bad, centres, 1, 1, 6, 4)


def test_public_verify_batch_and_steps_at() -> None:
    k = hotloop.PreparedKey(KEY, "SHA1")
    steps = hotloop.steps_at([0.0, 29.9, 30.0, 95.0], period=30)
    assert steps == [0, 0, 1, 3]
    codes = [RFC[0], RFC[1], RFC[0], RFC[4]]
    assert hotloop.verify_batch([k] * 4, codes, steps) == [0, 1, -1, 1]
    assert hotloop.verify_batch([k] * 4, codes, steps, threads=None) == [0, 1, -1, 1]
    assert hotloop.verify_batch([k], [RFC[9]], [5], behind=0, ahead=4) == [4]
    with pytest.raises(InputError, match="threads"):
        hotloop.verify_batch([k], [RFC[0]], [0], threads=-1)


@pytest.mark.parametrize("name", [n for n in backend_names() if n != "python"])
def test_no_reference_leaks(name: str) -> None:
    import sys

    backend = make_backend(name)
    keys = [backend.key(bytes([i]) * 20, "SHA1") for i in range(3)]
    before = [sys.getrefcount(k) for k in keys]
    for _ in range(50):
        backend.verify(keys, ["000000"] * 3, [5] * 3, 1, 1, 6)
        with pytest.raises(InputError):
            backend.verify(keys, ["000000", "000000", "x"], [5] * 3, 1, 1, 6)
    assert [sys.getrefcount(k) for k in keys] == before
