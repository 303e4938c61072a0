"""Threads sharing one SQLiteStore group-commit: an attempt that finishes while others wait for
the connection leaves the transaction open for them, the last one commits.  Semantics must not
change: exactly one ok per code, every reported ok durable (visible to a fresh connection the
moment it is reported), and a failing attempt never takes others' results with it silently."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tokens.hotloop import PreparedKey
from tokens.verifier import Policy, SQLiteStore, Status, Verifier

START = 1_767_225_600.0
KEYS = [bytes([i + 1]) * 20 for i in range(8)]
THREADS = 8
ROUNDS = 40


def test_threads_share_commits_without_losing_or_doubling(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    store = SQLiteStore(path)
    v = Verifier(store, Policy(throttle_after=0, lockout_after=0))
    for i, k in enumerate(KEYS):
        v.register(f"S{i}", k, status=Status.ACTIVE, at=START)
    reported: list[tuple[str, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    gate = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        try:
            gate.wait()
            for r in range(1, ROUNDS + 1):
                at = START + 30 * r
                for i, k in enumerate(KEYS):  # every thread presents every code: one may win
                    res = v.verify(f"S{i}", PreparedKey(k).code(int(at // 30), 6), at=at)
                    if res.ok:
                        assert res.step is not None
                        # durable and visible the moment it is reported
                        db = sqlite3.connect(path)
                        try:
                            row = db.execute("SELECT last_step FROM credentials WHERE serial = ?",
                                             (f"S{i}",)).fetchone()
                        finally:
                            db.close()
                        assert row[0] >= res.step
                        with lock:
                            reported.append((f"S{i}", res.step))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors[:3]
    assert len(reported) == len(set(reported)) == ROUNDS * len(KEYS), "exactly one ok per code"
    groups = store._group.generation
    store.close()
    assert groups <= ROUNDS * len(KEYS) * THREADS
    with SQLiteStore(path) as s:
        for i in range(len(KEYS)):
            cred = s.get(f"S{i}")
            assert cred is not None and cred.last_step == int(START // 30) + ROUNDS
