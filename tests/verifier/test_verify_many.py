"""verify_many: the same per-item semantics as verify(), committed together (group commit)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tokens.clock import ManualClock
from tokens.hotloop import PreparedKey
from tokens.verifier import Policy, SQLiteStore, Status, Store, Verifier
from tokens.verifier.model import Reason

START = 1_767_225_600.0
KEYS = [bytes([i + 1]) * 20 for i in range(6)]


def _setup(store: Store) -> Verifier:
    v = Verifier(store, Policy(throttle_after=0, lockout_after=0), clock=ManualClock(START))
    for i, k in enumerate(KEYS):
        v.register(f"S{i}", k, status=Status.ACTIVE, at=START)
    return v


def _code(i: int, at: float) -> str:
    return PreparedKey(KEYS[i]).code(int(at // 30), 6)


def test_batch_matches_single_verify_semantics(store: Store) -> None:
    v = _setup(store)
    at = START + 60
    items = [(f"S{i}", _code(i, at)) for i in range(len(KEYS))]
    items += [("S0", _code(0, at)),  # the same code again in the same batch: replayed
              ("S1", "000000" if _code(1, at) != "000000" else "111111"),  # wrong code
              ("NOPE", "123456")]  # unknown serial
    res = v.verify_many(items, at=at)
    assert [r.ok for r in res[:6]] == [True] * 6
    assert [r.reason for r in res[6:]] == [Reason.REPLAYED, Reason.INVALID, Reason.UNKNOWN]
    # every accepted step is in the store and refused afterwards
    for i in range(len(KEYS)):
        assert v.get(f"S{i}").last_step == int(at // 30)
        assert v.verify(f"S{i}", _code(i, at), at=at).reason is Reason.REPLAYED


def test_batch_is_committed_durably_for_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    v = _setup(SQLiteStore(path))
    at = START + 90
    assert all(r.ok for r in v.verify_many([(f"S{i}", _code(i, at)) for i in range(3)], at=at))
    other = Verifier(SQLiteStore(path), clock=ManualClock(at))
    assert [other.get(f"S{i}").last_step for i in range(3)] == [int(at // 30)] * 3


def test_failed_batch_commits_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "v.sqlite3")
    v = _setup(store)
    at = START + 120

    def items():  # type: ignore[no-untyped-def]
        yield ("S0", _code(0, at))
        raise RuntimeError("caller failed mid-batch")

    with pytest.raises(RuntimeError):
        v.verify_many(items(), at=at)
    assert v.get("S0").last_step is None or v.get("S0").last_step < int(at // 30)
    assert v.verify("S0", _code(0, at), at=at).ok  # not consumed by the rolled-back batch


def test_batch_holds_the_write_lock_so_other_writers_wait(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    store = SQLiteStore(path)
    v = _setup(store)
    with store.batch():
        v.verify("S0", _code(0, START + 150), at=START + 150)
        con = sqlite3.connect(path, timeout=0.05)
        with pytest.raises(sqlite3.OperationalError):
            con.execute("BEGIN IMMEDIATE")
        con.close()
