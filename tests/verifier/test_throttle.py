"""Throttling: back-off after K failures, lockout after M, success resets, state shared by handles."""

from __future__ import annotations

import base64

import pyotp

from tokens.clock import ManualClock
from tokens.verifier import Policy, Reason, Verifier

from .conftest import SECRET, StoreFactory

POLICY = Policy(throttle_after=3, backoff_base=30, backoff_max=200, lockout_after=8)


def _setup(store_factory: StoreFactory, clock: ManualClock) -> tuple[Verifier, pyotp.TOTP]:
    v = Verifier(store_factory(), POLICY, clock=clock)
    v.register("T1", SECRET)
    p = pyotp.TOTP(base64.b32encode(SECRET).decode())
    assert v.enable("T1", p.at(clock.now() - 30), p.at(clock.now())).ok
    return v, p


def _wrong(p: pyotp.TOTP, t: float) -> str:
    valid = {p.at(t + k * 30) for k in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222") if c not in valid)


def test_backoff_timing_and_reset(store_factory: StoreFactory, clock: ManualClock) -> None:
    v, p = _setup(store_factory, clock)
    clock.advance(30)
    r1, r2 = v.verify("T1", _wrong(p, clock.now())), v.verify("T1", _wrong(p, clock.now()))
    assert (r1.reason, r1.retry_after, r2.retry_after) == (Reason.INVALID, 0, 0)
    r3 = v.verify("T1", _wrong(p, clock.now()))
    assert r3.reason is Reason.INVALID and r3.retry_after == 30
    # inside the back-off even the right code is refused unseen, and it does not count as a failure
    clock.advance(10)
    r = v.verify("T1", p.at(clock.now()))
    assert r.reason is Reason.THROTTLED and r.retry_after == 20
    assert v.get("T1").failures == 3
    clock.advance(20)
    assert v.verify("T1", _wrong(p, clock.now())).retry_after == 60  # 4th failure: doubled
    clock.advance(59.5)
    assert v.verify("T1", p.at(clock.now())).reason is Reason.THROTTLED
    clock.advance(0.5)
    assert v.verify("T1", _wrong(p, clock.now())).retry_after == 120
    clock.advance(120)
    assert v.verify("T1", _wrong(p, clock.now())).retry_after == 200  # capped at backoff_max
    clock.advance(200)
    ok = v.verify("T1", p.at(clock.now()))
    assert ok.ok, ok
    cred = v.get("T1")
    assert cred.failures == 0 and cred.throttle_until == 0
    clock.advance(30)
    assert v.verify("T1", _wrong(p, clock.now())).retry_after == 0, "counting starts over after a success"


def test_lockout_needs_unlock(store_factory: StoreFactory, clock: ManualClock) -> None:
    v, p = _setup(store_factory, clock)
    reasons = []
    for _ in range(20):
        clock.advance(300)
        reasons.append(v.verify("T1", _wrong(p, clock.now())).reason)
    assert reasons[:8] == [Reason.INVALID] * 8 and set(reasons[8:]) == {Reason.LOCKED}
    clock.advance(86400)
    assert v.verify("T1", p.at(clock.now())).reason is Reason.LOCKED
    v.unlock("T1")
    assert v.verify("T1", p.at(clock.now())).ok


def test_finding9_owner_two_codes_lift_a_lock_an_attacker_caused(store_factory: StoreFactory,
                                                                 clock: ManualClock) -> None:
    """#19 finding 9: ten wrong guesses by anyone lock the credential, but not indefinitely: two
    consecutive codes from the owner's device (in the ordinary window) lift lock and back-off;
    a wrong pair does not, and single codes stay refused unseen."""
    v, p = _setup(store_factory, clock)
    for _ in range(8):
        clock.advance(300)
        v.verify("T1", _wrong(p, clock.now()))
    assert v.get("T1").locked
    now = clock.now()
    assert v.resync("T1", _wrong(p, now), _wrong(p, now + 30)).ok is False
    assert v.get("T1").locked, "a wrong pair lifts nothing"
    far = now + 3600  # a pair from far outside the verify window does not lift it either
    assert not v.resync("T1", p.at(far - 30), p.at(far)).ok and v.get("T1").locked
    assert v.verify("T1", p.at(now)).reason is Reason.LOCKED
    r = v.resync("T1", p.at(now - 30), p.at(now))
    assert r.ok, r
    cred = v.get("T1")
    assert not cred.locked and cred.failures == 0 and cred.throttle_until == 0
    clock.advance(30)
    assert v.verify("T1", p.at(clock.now())).ok


def test_owner_unlock_can_be_switched_off(store_factory: StoreFactory, clock: ManualClock) -> None:
    v = Verifier(store_factory(), Policy(throttle_after=3, lockout_after=4, owner_unlock=False), clock=clock)
    v.register("T1", SECRET)
    p = pyotp.TOTP(base64.b32encode(SECRET).decode())
    assert v.enable("T1", p.at(clock.now() - 30), p.at(clock.now())).ok
    for _ in range(4):
        clock.advance(3600)
        v.verify("T1", _wrong(p, clock.now()))
    assert v.resync("T1", p.at(clock.now() - 30), p.at(clock.now())).reason is Reason.LOCKED


def test_throttle_state_is_shared_between_handles(store_factory: StoreFactory, clock: ManualClock) -> None:
    v, p = _setup(store_factory, clock)
    clock.advance(30)
    for _ in range(3):
        v.verify("T1", _wrong(p, clock.now()))
    other = Verifier(store_factory(), POLICY, clock=clock)  # a second handle: another process's view
    r = other.verify("T1", p.at(clock.now()))
    assert r.reason is Reason.THROTTLED and r.retry_after == 30
