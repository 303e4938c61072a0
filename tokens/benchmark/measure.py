"""The individual measurements of ``tokensim bench``; every one takes its size as arguments.

Rates are best-of-N (``items / fastest repetition``): on a shared, noisy machine the fastest
repetition is the one least disturbed by other processes.  Latencies are medians.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: the benchmark's fixed "now"
PERIOD = 30
RESYNC_STEPS = 2 * 2880 + 1  # ±24 h of 30 s steps around the centre


def best_rate(fn: Callable[[], Any], items: int, min_time: float, max_reps: int = 50) -> float:
    """Items per second of the fastest call of ``fn`` (run until ``min_time`` has passed)."""
    best = float("inf")
    spent = 0.0
    reps = 0
    while reps < 2 or (spent < min_time and reps < max_reps):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = min(best, dt)
        spent += dt
        reps += 1
    return items / best if best > 0 else float("inf")


@dataclass
class Workload:
    """``n`` TOTP verifications over ``k`` distinct keys, at 30 s steps after :data:`T0`."""

    secrets: list[bytes]
    index: list[int]  # key of each item
    times: list[int]
    centres: list[int]
    hit_codes: list[str]  # the code of the centre step
    miss_codes: list[str]  # a code matching none of the 3 steps of the ±1 window

    @property
    def n(self) -> int:
        return len(self.index)


def make_workload(n: int, k: int = 1000, seed: int = 4226) -> Workload:
    from tokens.hotloop import PreparedKey

    rng = random.Random(seed)
    k = max(1, min(k, n))
    secrets = [rng.randbytes(20) for _ in range(k)]
    keys = [PreparedKey(s, "SHA1") for s in secrets]
    index = [rng.randrange(k) for _ in range(n)]
    times = [T0 + rng.randrange(0, 86400) for _ in range(n)]
    centres = [t // PERIOD for t in times]
    hit, miss = [], []
    for i, c in zip(index, centres, strict=True):
        window = keys[i].codes(c - 1, 3, 6)
        hit.append(window[1])
        code = window[1]
        while code in window:
            code = f"{rng.randrange(10**6):06d}"
        miss.append(code)
    return Workload(secrets, index, times, centres, hit, miss)


CORES_USED: dict[int, float] = {}  # variant -> CPU seconds / wall seconds of the last best_rates call


def best_rates(fns: dict[int, tuple[Callable[[], Any], int]], min_time: float,
               max_rounds: int = 50) -> dict[int, float]:
    """Items per second of each variant ``key: (fn, items per call)``, like :func:`best_rate` but
    run in alternation (a, b, a, b ...) so that a burst of load from other processes hits them
    alike and their ratios stay meaningful.

    Also records in :data:`CORES_USED` how many cores each variant actually got (process CPU
    time over wall time): on a shared machine that caps what threads can gain."""
    best = dict.fromkeys(fns, float("inf"))
    wall = dict.fromkeys(fns, 0.0)
    cpu = dict.fromkeys(fns, 0.0)
    spent = 0.0
    rounds = 0
    while rounds < 2 or (spent < min_time * len(fns) and rounds < max_rounds):
        for k, (fn, _) in fns.items():
            c = time.process_time()
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            cpu[k] += time.process_time() - c
            wall[k] += dt
            best[k] = min(best[k], dt)
            spent += dt
        rounds += 1
    CORES_USED.clear()
    CORES_USED.update({k: cpu[k] / wall[k] if wall[k] > 0 else 0.0 for k in fns})
    return {k: fns[k][1] / v if v > 0 else float("inf") for k, v in best.items()}


def batch_rates(w: Workload, *, hit: bool, threads: list[int], min_time: float,
                n: int | None = None, hash_only: bool = False) -> dict[int, float]:
    """verify_batch(±1) items per second for each thread count, through the public API (parsing
    and the result list included), the thread counts measured in alternation.

    With ``hash_only``, the same alternation also runs :func:`hash_only_variants` (keys ``-t``:
    HMAC/s of GIL-free C hashing in ``t`` threads), so both scalings see the same load."""
    from tokens.hotloop import PreparedKey, verify_batch

    m = w.n if n is None else min(n, w.n)
    keys = [PreparedKey(s, "SHA1") for s in w.secrets]
    item_keys = [keys[i] for i in w.index[:m]]
    codes = (w.hit_codes if hit else w.miss_codes)[:m]
    centres = w.centres[:m]
    expected = 0 if hit else None
    for t in threads:
        if any(r != expected for r in verify_batch(item_keys, codes, centres, threads=t)):
            raise RuntimeError("benchmark batch gave a wrong result")
    calls = max(1, 4096 // max(1, m))  # small batches: time several calls together

    def runner(t: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(calls):
                verify_batch(item_keys, codes, centres, threads=t)

        return run

    fns = {t: (runner(t), m * calls) for t in threads}
    if hash_only:
        fns.update(hash_only_variants(threads, max(1000, 3 * m)))
    return best_rates(fns, min_time)


def python_batch_rate(w: Workload, n: int, min_time: float) -> float:
    """The pure-Python fallback on the same ±1 misses (what a machine without a compiler gets)."""
    from tokens.hotloop import _python

    keys = [_python.PythonPreparedKey(s, "SHA1") for s in w.secrets]
    m = min(n, w.n)
    item_keys = [keys[i] for i in w.index[:m]]
    return best_rate(lambda: _python.verify_batch(item_keys, w.miss_codes[:m], w.centres[:m], 1, 1, 6),
                     m, min_time, max_reps=5)


def pyotp_rate(w: Workload, *, hit: bool, n: int, min_time: float) -> float:
    """pyotp ``TOTP.verify(code, for_time, valid_window=1)`` on the same items (TOTP objects prebuilt)."""
    import pyotp

    totps = [pyotp.TOTP(base64.b32encode(s).decode()) for s in w.secrets]
    m = min(n, w.n)
    items = [(totps[w.index[i]], (w.hit_codes if hit else w.miss_codes)[i], w.times[i]) for i in range(m)]

    def run() -> None:
        for totp, code, t in items:
            totp.verify(code, for_time=t, valid_window=1)

    if any(totp.verify(code, for_time=t, valid_window=1) != hit for totp, code, t in items[:50]):
        raise RuntimeError("pyotp disagrees with the benchmark workload")
    return best_rate(run, m, min_time, max_reps=10)


def sha1_limit(nbytes: int, reps: int = 3) -> float:
    """SHA-1 compression blocks per second: hashlib (OpenSSL) over one large buffer, best of ``reps``."""
    buf = os.urandom(nbytes)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        hashlib.sha1(buf).digest()
        best = min(best, time.perf_counter() - t)
    return nbytes / 64 / best


def resync_ms(reps: int) -> tuple[float, float]:
    """(median, best) milliseconds of one constant-time scan over ±24 h (5761 steps)."""
    from tokens.hotloop import PreparedKey

    key = PreparedKey(b"resync-benchmark-key", "SHA1")
    start = T0 // PERIOD - 2880
    window = set(key.codes(start, RESYNC_STEPS, 6))
    miss = next(f"{i:06d}" for i in range(10**6) if f"{i:06d}" not in window)
    times = []
    for _ in range(max(3, reps)):
        t = time.perf_counter()
        key.scan(miss, start, RESYNC_STEPS, 6)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), min(times)


STATEFUL_CPU_RATE: dict[tuple[str, int, int], float] = {}  # (store, batch, threads) -> verifies per CPU-s


def stateful_rate(store_kind: str, creds: int, rounds: int, batch: int = 1,
                  threads: int = 1) -> tuple[float, float]:
    """Successful verifies per second through the whole Verifier, each a durable replay-protected write.

    ``store_kind`` is ``sqlite`` (WAL, synchronous=FULL, in a temporary directory) or ``memory``.
    Returns (verifies per second, fraction accepted) — every code is a fresh, correct one.
    ``batch`` > 1 sends the codes through ``Verifier.verify_many`` in groups of that size (group
    commit: one durable transaction per group).  ``threads`` > 1 splits each round over that many
    threads sharing the Verifier (the SQLite store group-commits concurrent attempts).  The
    process CPU time per verify of the best round goes to :data:`STATEFUL_CPU_RATE`.
    """
    import threading

    from tokens.hotloop import PreparedKey
    from tokens.keyring import Keyring
    from tokens.verifier import MemoryStore, SQLiteStore, Status, Verifier
    from tokens.verifier.store import Store

    rng = random.Random(6238)
    secrets = [rng.randbytes(20) for _ in range(creds)]
    keys = [PreparedKey(s, "SHA1") for s in secrets]
    with tempfile.TemporaryDirectory(prefix="tokensim-bench-") as tmp:
        path = os.path.join(tmp, "verifier.db")
        # seeds sealed as in a default deployment, under a key that lives only in this run
        ring = Keyring([("bench", os.urandom(32))], source="benchmark key")
        store: Store = SQLiteStore(path, keyring=ring) if store_kind == "sqlite" else MemoryStore()
        try:
            v = Verifier(store)
            with store.batch():
                for i, s in enumerate(secrets):
                    v.register(f"B{i:06d}", s, status=Status.ACTIVE, at=T0)
            ok = total = 0
            best = best_cpu = float("inf")
            for r in range(rounds):
                at = T0 + PERIOD * (r + 1) + 1
                step = at // PERIOD
                todo = [(f"B{i:06d}", keys[i].code(step, 6)) for i in range(creds)]
                c = time.process_time()
                t = time.perf_counter()
                if threads > 1:
                    parts: list[list[Any]] = [[] for _ in range(threads)]

                    def work(k: int, at: int = at, todo: list[tuple[str, str]] = todo,
                             parts: list[list[Any]] = parts) -> None:
                        parts[k] = [v.verify(serial, code, at=at) for serial, code in todo[k::threads]]

                    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
                    for th in workers:
                        th.start()
                    for th in workers:
                        th.join()
                    results = [x for part in parts for x in part]
                elif batch > 1:
                    results = []
                    for j in range(0, len(todo), batch):
                        results += v.verify_many(todo[j:j + batch], at=at)
                else:
                    results = [v.verify(serial, code, at=at) for serial, code in todo]
                best = min(best, time.perf_counter() - t)
                best_cpu = min(best_cpu, time.process_time() - c)
                ok += sum(res.ok for res in results)
                total += len(results)
            if v.verify("B000000", todo[0][1], at=at).ok:  # the same code again must be refused
                raise RuntimeError("replay accepted: the benchmark is not measuring a protected verifier")
        finally:
            close = getattr(store, "close", None)
            if close is not None:
                close()
    STATEFUL_CPU_RATE[(store_kind, batch, threads)] = creds / best_cpu if best_cpu > 0 else float("inf")
    return creds / best, ok / max(1, total)


def hash_only_variants(threads: list[int], hmacs: int) -> dict[int, tuple[Callable[[], Any], int]]:
    """Variants ``-t``: ``t`` threads each running one ``scan`` of ``hmacs`` counters, started
    together — nothing but SHA-NI work, GIL released, no Python object touched.  How this scales
    shows what the two vCPUs give to SHA-bound work right now (other tenants' load, and whether
    they share a physical core's SHA unit)."""
    import threading

    from tokens.hotloop import PreparedKey

    keys = [PreparedKey(bytes([i + 1]) * 20, "SHA1") for i in range(max(threads))]

    def make(t: int) -> Callable[[], None]:
        def one(i: int, gate: threading.Barrier | None) -> None:
            if gate is not None:
                gate.wait()
            keys[i].scan("000000", 0, hmacs, 6)

        def run() -> None:
            if t == 1:
                one(0, None)
                return
            gate = threading.Barrier(t)
            workers = [threading.Thread(target=one, args=(i, gate)) for i in range(t)]
            for th in workers:
                th.start()
            for th in workers:
                th.join()

        return run

    return {-t: (make(t), hmacs * t) for t in threads}


def fsync_ms(reps: int) -> float:
    """Median ms of a 4 KiB write + fsync in the temporary directory the SQLite benchmark uses:
    the floor under one durable (synchronous=FULL) commit per verification."""
    times = []
    with tempfile.TemporaryDirectory(prefix="tokensim-bench-") as tmp:
        fd = os.open(os.path.join(tmp, "fsync.bin"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for _ in range(max(3, reps)):
                t = time.perf_counter()
                os.write(fd, b"\0" * 4096)
                os.fsync(fd)
                times.append((time.perf_counter() - t) * 1e3)
        finally:
            os.close(fd)
    return statistics.median(times)


def batch_size_sweep(w: Workload, sizes: list[int], threads: list[int],
                     min_time: float) -> list[dict[str, Any]]:
    """Worst-case ±1 throughput for each (batch size, thread count): the data of ``--plot``."""
    rows = []
    for size in sizes:
        if size > w.n:
            continue
        for t, rate in batch_rates(w, hit=False, threads=threads, min_time=min_time, n=size).items():
            rows.append({"batch": size, "threads": t, "verify_per_s": rate})
    return rows
