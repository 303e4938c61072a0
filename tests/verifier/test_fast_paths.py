"""The verifier's fast paths give exactly what the plain paths give (issue 18, second round):

- verify_many with distinct serials reserves the whole group at once (reserve_many: one
  UPDATE ... IN (...) RETURNING on SQLite), then checks each item;
- after a success the drift filter is extended by one step and cached, instead of rebuilt from
  the history on the next verify.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tokens.hotloop import PreparedKey
from tokens.keyring import Keyring
from tokens.verifier import MemoryStore, Policy, SQLiteStore, Status, Store, Verifier
from tokens.verifier.model import Reason

START = 1_767_225_600.0
KEYS = [bytes([i + 7]) * 20 for i in range(12)]
POLICY = Policy(throttle_after=2, lockout_after=4, backoff_base=30.0)


def _code(i: int, at: float, delta: int = 0) -> str:
    return PreparedKey(KEYS[i]).code(int(at // 30) + delta, 6)


def _wrong(i: int, at: float) -> str:
    window = set(PreparedKey(KEYS[i]).codes(int(at // 30) - 20, 41, 6))
    return next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in window)


def _sqlite(tmp_path: Path, name: str) -> SQLiteStore:
    return SQLiteStore(tmp_path / name, keyring=Keyring([("t", b"k" * 32)], source="test key"))


def _populate(v: Verifier) -> None:
    for i, k in enumerate(KEYS):
        v.register(f"S{i:02d}", k, status=Status.PENDING if i == 9 else Status.ACTIVE, at=START)
    v.disable("S08", at=START)


def _script(rng: random.Random, at: float) -> list[tuple[str, str]]:
    """One group of distinct serials: good, old (replayed), wrong codes, unknown serials, the
    disabled and the pending credential, in random order."""
    items = []
    for i in range(len(KEYS)):
        kind = rng.choice(["good", "good", "wrong", "old", "late"])
        code = {"good": _code(i, at), "wrong": _wrong(i, at), "old": _code(i, at - 60),
                "late": _code(i, at, -1)}[kind]
        items.append((f"S{i:02d}", code))
    items.append(("NOPE", "123456"))
    rng.shuffle(items)
    return items


def _state(store: Store) -> list[tuple[object, ...]]:
    return [(c.serial, c.status, c.last_step, c.offset_steps, c.failures, c.throttle_until, c.locked,
             tuple(store.history(c.serial))) for c in store.credentials()]


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_verify_many_bulk_equals_item_by_item(tmp_path: Path, kind: str) -> None:
    fast_store: Store = _sqlite(tmp_path, "a.db") if kind == "sqlite" else MemoryStore()
    slow_store: Store = _sqlite(tmp_path, "b.db") if kind == "sqlite" else MemoryStore()
    fast, slow = Verifier(fast_store, POLICY), Verifier(slow_store, POLICY)
    _populate(fast)
    _populate(slow)
    rng = random.Random(18)
    reasons = set()
    for r in range(40):
        at = START + 30 * (r + 1) + rng.randrange(30)
        items = _script(rng, at)
        got = fast.verify_many(items, at=at)
        with slow_store.batch():
            want = [slow.verify(s, c, at=at) for s, c in items]
        assert [x.to_dict() for x in got] == [x.to_dict() for x in want], r
        assert _state(fast_store) == _state(slow_store), r
        reasons |= {x.reason for x in got}
    # the script reached every branch of a verify
    assert {Reason.OK, Reason.INVALID, Reason.REPLAYED, Reason.THROTTLED, Reason.LOCKED,
            Reason.UNKNOWN, Reason.NOT_ENABLED} <= reasons
    for s in (fast_store, slow_store):
        s.close()


def test_reserve_many_matches_reserve(tmp_path: Path) -> None:
    a, b = _sqlite(tmp_path, "a.db"), _sqlite(tmp_path, "b.db")
    for st in (a, b):
        _populate(Verifier(st, POLICY))
    serials = [f"S{i:02d}" for i in range(len(KEYS))] + ["NOPE"]
    for r in range(6):  # walks the throttle into back-off and lock
        at = START + 1 + r
        with a.batch():
            many = a.reserve_many(serials, at, POLICY)
        one = [b.reserve(s, at, POLICY) for s in serials]
        assert many == one
    assert a.bulk_reserve and not MemoryStore().bulk_reserve
    with pytest.raises(ValueError):
        a.reserve_many(["S00", "S00"], START, POLICY)
    a.close()
    b.close()


@pytest.mark.parametrize("history_size", [64, 5])
def test_cached_filter_equals_a_fresh_rebuild(tmp_path: Path, history_size: int) -> None:
    """A long-lived verifier (filters extended step by step) and a fresh one on the same store
    (filters run from the history) predict the same window, the same offset, the same rate."""
    policy = Policy(history_size=history_size)
    store = _sqlite(tmp_path, "v.db")
    v = Verifier(store, policy)
    drift_ppm = [0.0, 35.0, -80.0]
    for i in range(3):
        v.register(f"D{i}", KEYS[i], status=Status.ACTIVE, at=START)
    rng = random.Random(5)
    at = START
    for n in range(30):
        at += rng.choice([90.0, 3600.0, 86400.0 * 9, 120.0])
        for i in range(3):
            device = at + (at - START) * drift_ppm[i] * 1e-6 - rng.uniform(0, 20)
            res = v.verify(f"D{i}", PreparedKey(KEYS[i]).code(int(device // 30), 6), at=at)
            assert res.ok, (n, i, res)
            fresh = Verifier(store, policy)
            probe = at + 600.0
            assert v.window(f"D{i}", at=probe) == fresh.window(f"D{i}", at=probe)
            assert v.drift(f"D{i}", at=probe) == fresh.drift(f"D{i}", at=probe)
    # one cached filter per credential: a success frees the entry of the history it replaced
    assert len(v._filters) <= 3
    store.close()
