"""Several processes on one SQLite file: replay protection under races, and crash consistency."""

from __future__ import annotations

import base64
import multiprocessing as mp
import os
import signal
import sqlite3
import time
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pyotp
import pytest

from tokens.clock import ManualClock
from tokens.verifier import Policy, Reason, SQLiteStore, Verifier

from .conftest import SECRET, START

CTX = mp.get_context("fork")
WORKERS = 6
ROUNDS = 5
TOTP = pyotp.TOTP(base64.b32encode(SECRET).decode())


def _enrolled_db(path: Path) -> None:
    with SQLiteStore(path) as s:
        v = Verifier(s, Policy(throttle_after=0, lockout_after=0), clock=ManualClock(START))
        v.register("T1", SECRET)
        assert v.enable("T1", TOTP.at(START - 30), TOTP.at(START)).ok


def _racer(path: str, barrier: Barrier, out: Connection) -> None:
    store = SQLiteStore(path)
    v = Verifier(store, Policy(throttle_after=0, lockout_after=0))
    reasons = []
    for r in range(1, ROUNDS + 1):
        at = START + 30 * r
        code = TOTP.at(at)
        barrier.wait(timeout=30)
        reasons.append(v.verify("T1", code, at=at).reason.value)
    out.send(reasons)
    out.close()
    store.close()


def test_same_code_in_many_processes_exactly_one_ok(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    _enrolled_db(path)
    barrier = CTX.Barrier(WORKERS)
    pipes = [CTX.Pipe(duplex=False) for _ in range(WORKERS)]
    procs = [CTX.Process(target=_racer, args=(str(path), barrier, w)) for _, w in pipes]
    for p in procs:
        p.start()
    try:
        results = [r.recv() if r.poll(60) else None for r, _ in pipes]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(res is not None for res in results), "a worker did not report"
    for rnd in range(ROUNDS):
        column = [res[rnd] for res in results if res is not None]
        assert column.count("ok") == 1, (rnd, column)
        assert column.count("replayed") == WORKERS - 1, (rnd, column)
    with SQLiteStore(path) as s:
        cred = s.get("T1")
        assert cred is not None and cred.last_step == int(START) // 30 + ROUNDS


def _verify_forever(path: str, out: Connection) -> None:
    """Verify a fresh code every step and report each ok *after* verify() returned."""
    v = Verifier(SQLiteStore(path), Policy(history_size=100_000, throttle_after=0, lockout_after=0))
    i = 0
    while True:
        i += 1
        at = START + 30 * i
        res = v.verify("T1", TOTP.at(at), at=at)
        if res.ok:
            out.send(res.step)


@pytest.mark.parametrize("kill_after", [3, 25, 60])
def test_killed_mid_verify_loses_no_accepted_step(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "v.sqlite3"
    _enrolled_db(path)
    r, w = CTX.Pipe(duplex=False)
    child = CTX.Process(target=_verify_forever, args=(str(path), w))
    child.start()
    reported: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(reported) < kill_after and time.monotonic() < deadline:
            if r.poll(1):
                reported.append(r.recv())
        time.sleep(0.001 * kill_after % 7)  # land somewhere inside the next verify
        os.kill(child.pid or 0, signal.SIGKILL)
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    assert child.exitcode == -signal.SIGKILL
    while r.poll(0.2):
        reported.append(r.recv())
    assert len(reported) >= kill_after
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    with SQLiteStore(path) as s:
        cred = s.get("T1")
        steps = [o.step for o in s.history("T1")]
        assert cred is not None and cred.last_step is not None
        assert set(reported) <= set(steps), "an ok the child reported is missing from the store"
        assert steps == sorted(set(steps)) and cred.last_step == steps[-1]
        # at most one step committed whose report the kill cut off
        assert cred.last_step - max(reported) in (0, 1)
        # the store is usable and still refuses the last accepted code
        v = Verifier(s, Policy(throttle_after=0))
        at = (cred.last_step) * 30.0
        assert v.verify("T1", TOTP.at(at), at=at).reason is Reason.REPLAYED
        assert v.verify("T1", TOTP.at(at + 30), at=at + 30).ok
