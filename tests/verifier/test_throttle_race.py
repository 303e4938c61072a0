"""#19 finding 1: concurrent guesses must not get past the throttle.

200 wrong codes for one serial, fired together from several processes (each with its own store
handle), may evaluate at most the policy's remaining budget; every other attempt is refused
unseen.  Evaluations are counted twice: from the results ("invalid" = the code was looked at)
and from the store's failure counter."""

from __future__ import annotations

import base64
import multiprocessing as mp
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pyotp
import pytest

from tokens.verifier import Policy, Status, Store, Verifier

from .conftest import SECRET, START

CTX = mp.get_context("fork")
PROCS = 8
GUESSES = 200
TOTP = pyotp.TOTP(base64.b32encode(SECRET).decode())
LOCKOUT = Policy(throttle_after=0, lockout_after=10)  # budget: 10 wrong codes, then locked


def _wrong_codes(at: float) -> list[str]:
    valid = {TOTP.at(at + k * 30) for k in range(-2, 3)}
    return [c for c in (f"{i:06d}" for i in range(GUESSES + 10)) if c not in valid][:GUESSES]


def _guesser(open_store: Callable[[], Store], policy: Policy, codes: list[str], at: float,
             barrier: Barrier, out: Connection) -> None:
    store = open_store()
    v = Verifier(store, policy)
    barrier.wait(timeout=60)
    out.send([v.verify("T1", c, at=at).reason.value for c in codes])
    out.close()
    store.close()


def _fire(make: Callable[[int, Barrier, Connection], tuple[Callable[..., None], tuple[object, ...]]]
          ) -> Counter[str]:
    """Start PROCS processes (``make(i, barrier, pipe)`` gives each its target and arguments), let
    them go at once through the barrier, and count the reasons they report."""
    barrier = CTX.Barrier(PROCS)
    pipes = [CTX.Pipe(duplex=False) for _ in range(PROCS)]
    jobs = [make(i, barrier, w) for i, (_, w) in enumerate(pipes)]
    procs = [CTX.Process(target=target, args=args) for target, args in jobs]
    for p in procs:
        p.start()
    try:
        results = [r.recv() if r.poll(120) else None for r, _ in pipes]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(res is not None for res in results), "a guesser did not report"
    return Counter(x for res in results if res for x in res)


def _burst(open_store: Callable[[], Store], policy: Policy, failures_before: int) -> tuple[Counter[str], int]:
    with open_store() as s:
        v = Verifier(s, policy)
        v.register("T1", SECRET, status=Status.ACTIVE, at=START)
        at = START + 60
        for c in _wrong_codes(at)[:failures_before]:
            assert v.verify("T1", c, at=at).reason.value == "invalid"
    codes = _wrong_codes(at)
    reasons = _fire(lambda i, barrier, w: (_guesser, (open_store, policy, codes[i::PROCS], at, barrier, w)))
    with open_store() as s:
        cred = s.get("T1")
        assert cred is not None
        return reasons, cred.failures - failures_before


def _stores(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Store]:
    if kind == "sqlite":
        from tokens.verifier import SQLiteStore

        path = tmp_path / "v.sqlite3"
        return lambda: SQLiteStore(path)
    from tokens.verifier.pgstore import PostgresStore

    url: str = request.getfixturevalue("fresh_postgres_url")
    return lambda: PostgresStore(url, pool_size=2)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize(("policy", "before", "budget"), [
    (LOCKOUT, 0, 10), (LOCKOUT, 7, 3), (Policy(), 0, 3), (Policy(), 2, 1)],
    ids=["lockout-10", "lockout-3-left", "default-backoff", "default-1-left"])
def test_finding1_concurrent_guesses_stay_within_the_budget(
        kind: str, policy: Policy, before: int, budget: int, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    reasons, counted = _burst(_stores(kind, tmp_path, request), policy, before)
    assert sum(reasons.values()) == GUESSES
    assert reasons["invalid"] == budget, reasons  # never more; and the budget is really granted
    assert counted == reasons["invalid"], "every evaluated guess is counted, nothing else is"
    assert set(reasons) <= {"invalid", "throttled", "locked"}, reasons
    assert reasons["invalid"] >= 1, "the burst is not refused wholesale"


def _pair_guesser(open_store: Callable[[], Store], policy: Policy, op: str, pairs: list[tuple[str, str]],
                  at: float, barrier: Barrier, out: Connection) -> None:
    store = open_store()
    v = Verifier(store, policy)
    call = v.enable if op == "enable" else v.resync
    barrier.wait(timeout=60)
    out.send([call("T1", c1, c2, at=at).reason.value for c1, c2 in pairs])
    out.close()
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("op", ["enable", "resync"])
def test_concurrent_enable_and_resync_guesses_stay_within_the_budget(
        kind: str, op: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Enable and resync attempts are reserved like verify's: a burst of wrong pairs from 8
    processes evaluates exactly the budget (here without the owner's unlock path, which by
    design evaluates a pair in the verify window even when locked)."""
    policy = Policy(throttle_after=0, lockout_after=10, owner_unlock=False)
    open_store = _stores(kind, tmp_path, request)
    at = START + 60
    with open_store() as s:
        Verifier(s, policy).register("T1", SECRET, status=Status.PENDING if op == "enable" else Status.ACTIVE,
                                     at=START)
    codes = _wrong_codes(at)
    pairs = list(zip(codes, reversed(codes), strict=True))
    reasons = _fire(lambda i, barrier, w: (_pair_guesser,
                                           (open_store, policy, op, pairs[i::PROCS], at, barrier, w)))
    evaluated = sum(n for r, n in reasons.items() if r not in ("throttled", "locked"))
    assert sum(reasons.values()) == len(pairs)
    assert evaluated == 10, reasons
    assert set(reasons) <= {"not_found", "not_consecutive", "throttled", "locked"}, reasons
    with open_store() as s:
        cred = s.get("T1")
        assert cred is not None and cred.failures == 10 and cred.locked
        assert cred.status is (Status.PENDING if op == "enable" else Status.ACTIVE)
