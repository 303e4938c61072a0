"""Compiled backend: the ``_cloop`` extension plus the thread fan-out of batch verification."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ..otp import Algorithm
from . import _checks, _cloop

MIN_SLICE = 1024  # items per task when a batch is spread over threads
MAX_SLICE = 16384


class CPreparedKey(_cloop.Key):
    """HMAC key with precomputed pad states, hashed by the C loop (SHA-NI when the CPU has it)."""

    __slots__ = ()

    def __new__(cls, key: bytes, algorithm: Algorithm | str = Algorithm.SHA1) -> CPreparedKey:
        alg = Algorithm.parse(algorithm)
        return super().__new__(cls, _checks.key_bytes(key), _checks.ALGORITHM_IDS[alg])

    @property
    def algorithm(self) -> Algorithm:
        return _checks.ALGORITHMS[self.alg_id]

    def __repr__(self) -> str:
        return f"<CPreparedKey {self.algorithm.value}>"


_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool that grows to the largest worker count asked for."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            old = _pool
            _pool, _pool_size = ThreadPoolExecutor(workers, thread_name_prefix="tokensim-hotloop"), workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def verify_batch(keys: Sequence[CPreparedKey], codes: Sequence[str], centres: Sequence[int],
                 behind: int, ahead: int, digits: int | Sequence[int], threads: int) -> list[int | None]:
    ks = _checks.sequence(keys, "keys")
    cs = _checks.sequence(codes, "codes")
    ts = _checks.sequence(centres, "centres")
    ds = digits if isinstance(digits, int) else _checks.sequence(digits, "digits")
    n = len(ks)
    if threads <= 1 or n < 2 * MIN_SLICE:
        return _cloop.verify(ks, cs, ts, behind, ahead, ds)
    # Equal slices (a multiple of the thread count, at least 4 per thread, none above MAX_SLICE)
    # handed out in order: while one thread parses its slice (GIL held) the others hash theirs
    # (GIL released), so parsing overlaps hashing.
    slices = threads * max(4, -(-n // (threads * MAX_SLICE)))
    slices = max(1, min(slices, n // MIN_SLICE))
    bounds = [n * j // slices for j in range(slices + 1)]
    ranges = list(itertools.pairwise(bounds))
    out: list[int | None] = [None] * n  # each worker copies its slice in (overlapping others' hashing)
    errors: list[tuple[int, BaseException]] = []
    todo = iter(range(len(ranges)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                j = None if errors else next(todo, None)
            if j is None:
                return
            lo, hi = ranges[j]
            try:
                out[lo:hi] = _cloop.verify(ks, cs, ts, behind, ahead, ds, lo, hi)
            except BaseException as e:  # re-raised in the caller below
                with lock:
                    errors.append((j, e))

    pool = _executor(threads - 1)
    futures: list[Future[None]] = [pool.submit(work) for _ in range(threads - 1)]
    work()
    for f in futures:
        f.result()
    if errors:
        raise min(errors, key=lambda e: e[0])[1]
    return out
