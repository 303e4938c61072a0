"""The Store contract (tokens/verifier/store.py), run against every store implementation."""

from __future__ import annotations

import pytest

from tokens.verifier import (
    Credential,
    CredentialExistsError,
    Kind,
    Observation,
    Policy,
    Status,
    Store,
    UnknownCredentialError,
)

from .conftest import SECRET, START, StoreFactory


def _cred(serial: str = "S1", status: Status = Status.PENDING) -> Credential:
    return Credential(serial=serial, kind=Kind.TOTP, secret=SECRET, status=status, created_at=START,
                      updated_at=START, issuer="iss", account="acct")


def test_insert_get_roundtrip(store: Store) -> None:
    c = _cred()
    store.insert(c)
    assert store.get("S1") == c
    assert store.get("nope") is None
    with pytest.raises(CredentialExistsError):
        store.insert(_cred())
    store.insert(_cred("A0"))
    assert [x.serial for x in store.credentials()] == ["A0", "S1"]


def test_activate_only_from_pending(store: Store) -> None:
    store.insert(_cred())
    assert store.activate("S1", 100, 2, START + 1)
    got = store.get("S1")
    assert got is not None and got.status is Status.ACTIVE and got.last_step == 100 and got.offset_steps == 2
    assert got.enabled_at == START + 1
    assert store.history("S1") == [Observation(START + 1, 100, 2)]
    assert not store.activate("S1", 200, 0, START + 2)
    assert not store.activate("missing", 1, 0, START)


def test_accept_is_compare_and_set(store: Store) -> None:
    store.insert(_cred())
    assert not store.accept("S1", 5, 0, START, 10), "pending credentials accept nothing"
    store.activate("S1", 100, 0, START)
    assert not store.accept("S1", 100, 0, START + 1, 10), "equal step is a replay"
    assert not store.accept("S1", 99, 0, START + 1, 10)
    assert store.accept("S1", 101, 1, START + 30, 10)
    assert not store.accept("S1", 101, 1, START + 31, 10)
    got = store.get("S1")
    assert got is not None and got.last_step == 101 and got.last_used_at == START + 30
    assert [o.step for o in store.history("S1")] == [100, 101]


def test_accept_trims_history_to_newest(store: Store) -> None:
    store.insert(_cred())
    store.activate("S1", 0, 0, START)
    for i in range(1, 8):
        assert store.accept("S1", i, 0, START + 30 * i, 3)
    assert [o.step for o in store.history("S1")] == [5, 6, 7]


def test_resync_restarts_history_and_is_cas(store: Store) -> None:
    store.insert(_cred())
    store.activate("S1", 10, 0, START)
    store.accept("S1", 11, 0, START + 30, 10)
    assert not store.resync("S1", 11, 5, START + 60)
    assert store.resync("S1", 500, 7, START + 60)
    assert store.history("S1") == [Observation(START + 60, 500, 7)]
    got = store.get("S1")
    assert got is not None and got.last_step == 500 and got.offset_steps == 7
    assert got.rate_hint_ppm == 0.0
    assert store.resync("S1", 600, 9, START + 90, rate_ppm=-41.25, rate_sd_ppm=1.5)
    got = store.get("S1")
    assert got is not None and got.rate_hint_ppm == -41.25, "resync keeps the rate it is given"
    assert got.rate_hint_sd_ppm == 1.5, "and its standard error"
    assert store.history("S1") == [Observation(START + 90, 600, 9)]
    assert store.resync("S1", 700, 9, START + 120, rate_ppm=3.0)
    got = store.get("S1")
    assert got is not None and (got.rate_hint_ppm, got.rate_hint_sd_ppm) == (3.0, 0.0)


def test_failures_throttle_lock_and_reset(store: Store) -> None:
    pol = Policy(throttle_after=2, backoff_base=10, lockout_after=4)
    store.insert(_cred())
    store.activate("S1", 10, 0, START)
    s1 = store.record_failure("S1", START, pol)
    assert (s1.failures, s1.throttle_until, s1.locked) == (1, 0.0, False)
    s2 = store.record_failure("S1", START + 1, pol)
    assert (s2.failures, s2.throttle_until, s2.locked) == (2, START + 11, False)
    s3 = store.record_failure("S1", START + 20, pol)
    assert (s3.failures, s3.throttle_until) == (3, START + 40)
    s4 = store.record_failure("S1", START + 50, pol)
    assert s4.locked
    got = store.get("S1")
    assert got is not None and got.locked and got.failures == 4 and got.last_failure_at == START + 50
    assert not store.accept("S1", 11, 0, START + 60, 10), "a locked credential accepts nothing"
    assert store.unlock("S1", START + 70)
    got = store.get("S1")
    assert got is not None and not got.locked and got.failures == 0 and got.throttle_until == 0
    store.record_failure("S1", START + 71, pol)
    assert store.accept("S1", 11, 0, START + 80, 10)
    got = store.get("S1")
    assert got is not None and got.failures == 0, "success resets the failure counter"
    with pytest.raises(UnknownCredentialError):
        store.record_failure("missing", START, pol)


def test_status_hint_delete(store: Store) -> None:
    store.insert(_cred(status=Status.ACTIVE))
    store.set_resync_hint("S1", 42, START + 5)
    got = store.get("S1")
    assert got is not None and (got.resync_hint_step, got.resync_hint_at) == (42, START + 5)
    assert store.accept("S1", 43, 0, START + 6, 10)
    got = store.get("S1")
    assert got is not None and got.resync_hint_step is None, "accept clears the auto-resync hint"
    assert store.set_status("S1", Status.DISABLED, START + 7)
    assert not store.accept("S1", 50, 0, START + 8, 10)
    assert not store.set_status("missing", Status.DISABLED, START)
    assert store.delete("S1") and not store.delete("S1")
    assert store.get("S1") is None and store.history("S1") == []


def test_state_survives_reopen(store_factory: StoreFactory) -> None:
    a = store_factory()
    a.insert(_cred())
    a.activate("S1", 7, 1, START)
    b = store_factory()
    snap = b.snapshot("S1")
    assert snap is not None
    cred, hist = snap
    assert cred.last_step == 7 and cred.secret == SECRET and hist == [Observation(START, 7, 1)]
    assert b.snapshot("missing") is None


def test_reserve_counts_in_advance_and_gates(store: Store) -> None:
    """reserve(): one failure in advance, the back-off/lock of that count, refused unseen when
    locked or backing off or out of budget; accept(reserved=True) and release() give it back."""
    pol = Policy(throttle_after=2, backoff_base=10, backoff_max=15, lockout_after=3)
    store.insert(_cred())
    pending = store.reserve("S1", START, pol)
    assert pending is not None and not pending.reserved, "a pending credential admits no attempt"
    assert store.reserve("missing", START, pol) is None
    enabling = store.reserve("S1", START, pol, Status.PENDING)  # enable()'s attempts
    assert enabling is not None and enabling.reserved and enabling.cred.failures == 1
    store.activate("S1", 10, 0, START)  # clears the count
    assert not store.reserve("S1", START, pol, Status.PENDING).reserved  # type: ignore[union-attr]
    a1 = store.reserve("S1", START + 1, pol)
    assert a1 is not None and a1.reserved and a1.cred.failures == 1 and a1.cred.throttle_until == 0
    assert a1.cred.last_failure_at is None, "a reservation is not yet a failure"
    store.note_failure("S1", START + 1)
    assert store.get("S1").last_failure_at == START + 1  # type: ignore[union-attr]
    assert a1.history == [Observation(START, 10, 0)] and a1.cred.secret == SECRET
    a2 = store.reserve("S1", START + 2, pol)
    assert a2 is not None and a2.reserved and (a2.cred.failures, a2.cred.throttle_until) == (2, START + 12)
    a3 = store.reserve("S1", START + 3, pol)
    assert a3 is not None and not a3.reserved and a3.cred.failures == 2, "backing off: refused, not counted"
    store.release("S1", START + 4, pol)  # the second attempt was a replay: give it back
    got = store.get("S1")
    assert got is not None and (got.failures, got.throttle_until) == (1, 0.0)
    a4 = store.reserve("S1", START + 5, pol)
    assert a4 is not None and a4.reserved and a4.cred.throttle_until == START + 15
    a5 = store.reserve("S1", START + 21, pol)  # the third: the lock lands with it
    assert a5 is not None and a5.reserved and a5.cred.locked and a5.cred.throttle_until == START + 36
    assert not store.reserve("S1", START + 999, pol).reserved  # type: ignore[union-attr]
    assert not store.accept("S1", 11, 0, START + 22, 10), "an unreserved accept respects the lock"
    assert store.accept("S1", 11, 0, START + 22, 10, reserved=True), "the holder of a reservation may"
    got = store.get("S1")
    assert got is not None and (got.failures, got.throttle_until, got.locked) == (0, 0.0, False)
    store.release("S1", START + 23, pol)  # nothing to give back: stays at zero
    got = store.get("S1")
    assert got is not None and got.failures == 0


def test_attempt_context_reserves(store: Store) -> None:
    pol = Policy(throttle_after=0, lockout_after=2)
    store.insert(_cred(status=Status.ACTIVE))
    for expected in (True, True, False):
        with store.attempt("S1", START, pol) as att:
            assert att is not None and att.reserved is expected
    got = store.get("S1")
    assert got is not None and got.failures == 2 and got.locked
    with store.attempt("missing", START, pol) as att:
        assert att is None
