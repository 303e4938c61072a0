"""Every backend and pyotp on the same random inputs: every output compared."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

import pyotp
from hypothesis import given
from hypothesis import strategies as st

from tests.hotloop.conftest import Backend, use

U64_MAX = 2**64 - 1
ALGS = ["SHA1", "SHA256", "SHA512"]

keys = st.binary(min_size=10, max_size=200)  # crosses both block sizes (64 and 128 bytes)
counters = st.one_of(st.just(0), st.just(1), st.just(U64_MAX), st.integers(U64_MAX - 8, U64_MAX),
                     st.integers(0, 2**32 + 5), st.integers(0, U64_MAX))


def pyotp_code(key: bytes, alg: str, counter: int, digits: int) -> str:
    """The independent reference: pyotp (which refuses secrets under 112 bits: stdlib hmac there)."""
    if len(key) >= 14:
        secret = base64.b32encode(key).decode()
        return str(pyotp.HOTP(secret, digits=digits, digest=getattr(hashlib, alg.lower())).at(counter))
    mac = hmac.digest(key, counter.to_bytes(8, "big"), alg.lower())
    off = mac[-1] & 15
    return f"{(int.from_bytes(mac[off:off + 4], 'big') & 0x7FFFFFFF) % 10**digits:0{digits}d}"


@given(key=keys, alg=st.sampled_from(ALGS), digits=st.sampled_from([6, 7, 8]), counter=counters,
       count=st.integers(0, 9), seed=st.integers(0, 2**32))
def test_backends_agree_with_each_other_and_pyotp(all_backends: list[Backend], key: bytes, alg: str,
                                                   digits: int, counter: int, count: int, seed: int) -> None:
    start = min(counter, U64_MAX - max(count, 1) + 1)
    expected = [pyotp_code(key, alg, start + i, digits) for i in range(count)]
    rng = random.Random(seed)
    random_code = f"{rng.randrange(10**digits):0{digits}d}"
    probe = rng.choice(expected) if expected and rng.random() < 0.7 else random_code
    first = expected.index(probe) if probe in expected else None
    centre = rng.choice([0, U64_MAX, start + count // 2])
    side = rng.randrange(0, 4)
    window = range(max(0, centre - side), min(U64_MAX, centre + side) + 1)
    batch_expect = next((c - centre for c in window if pyotp_code(key, alg, c, digits) == probe), None)
    for b in all_backends:
        use(b)
        k = b.key(key, alg)
        assert k.codes(start, count, digits) == expected, b.name
        if count:
            assert k.code(start, digits) == expected[0], b.name
            assert k.code(start + count - 1, digits) == expected[-1], b.name
        assert k.scan(probe, start, count, digits) == first, b.name
        assert b.verify([k], [probe], [centre], side, side, digits) == [batch_expect], b.name


def test_random_batch_identical_on_every_backend(all_backends: list[Backend]) -> None:
    rng = random.Random(4226)
    raw = [(rng.randbytes(rng.randrange(10, 140)), rng.choice(ALGS)) for _ in range(40)]
    n = 3000
    items = []
    for _ in range(n):
        ki = rng.randrange(len(raw))
        digits = rng.choice([6, 7, 8])
        centre = rng.choice([0, 1, U64_MAX, U64_MAX - 1, rng.randrange(2**40)])
        target = centre + rng.randrange(-3, 4)
        if 0 <= target <= U64_MAX and rng.random() < 0.5:
            key, alg = raw[ki]
            code = pyotp_code(key, alg, target, digits)
        else:
            code = f"{rng.randrange(10**digits):0{digits}d}"
        items.append((ki, code, centre, digits))
    # narrow windows share the C job list across items; 10 + 1 + 12 > 16 takes the wide-window path
    for behind, ahead in ((2, 3), (0, 0), (10, 12)):
        results = {}
        for b in all_backends:
            use(b)
            prepared = [b.key(k, a) for k, a in raw]
            ks = [prepared[i] for i, _, _, _ in items]
            results[b.name] = b.verify(ks, [c for _, c, _, _ in items], [t for _, _, t, _ in items], behind,
                                       ahead, [d for _, _, _, d in items])
        reference = results["python"]
        assert sum(r is not None for r in reference) > n // 20  # the batch really contains hits
        for name, got in results.items():
            assert got == reference, (name, behind, ahead)
