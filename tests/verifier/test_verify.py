"""enable / verify / resync semantics on both stores, codes cross-checked with pyotp."""

from __future__ import annotations

import base64

import pyotp
import pytest

from tokens.clock import ManualClock
from tokens.otp import encode_secret
from tokens.verifier import Kind, Policy, Reason, Status, Store, Verifier
from tokens.virtual import VirtualHOTP, VirtualTOTP

from .conftest import SECRET, START

PERIOD = 30


def _totp(secret: bytes = SECRET, digits: int = 6, algorithm: str = "sha1") -> pyotp.TOTP:
    return pyotp.TOTP(base64.b32encode(secret).decode(), digits=digits, digest=algorithm, interval=PERIOD)


def _enabled(v: Verifier, serial: str = "T1", at: float = START, **kw: object) -> pyotp.TOTP:
    v.register(serial, SECRET, at=at, **kw)  # type: ignore[arg-type]
    p = _totp()
    res = v.enable(serial, p.at(at - PERIOD), p.at(at), at=at)
    assert res.ok and res.reason is Reason.OK and res.offset_steps == 0
    return p


def test_enable_two_consecutive_codes(verifier: Verifier) -> None:
    verifier.register("T1", SECRET, at=START)
    p = _totp()
    assert verifier.get("T1").status is Status.PENDING
    assert verifier.verify("T1", p.at(START), at=START).reason is Reason.NOT_ENABLED
    res = verifier.enable("T1", p.at(START), p.at(START + 2 * PERIOD), at=START)
    assert not res.ok and res.reason is Reason.NOT_CONSECUTIVE
    res = verifier.enable("T1", p.at(START - 3600), p.at(START - 3600 + PERIOD), at=START)
    assert not res.ok and res.reason is Reason.NOT_FOUND
    res = verifier.enable("T1", "12345", "123456", at=START)
    assert res.reason is Reason.INVALID and res.retry_after == 30, "third failure: back-off starts"
    assert verifier.enable("T1", p.at(START), p.at(START + PERIOD), at=START + 1).reason is Reason.THROTTLED
    verifier.unlock("T1", at=START)
    # a token 4 steps ahead: found inside the enrollment window, offset stored
    res = verifier.enable("T1", p.at(START + 3 * PERIOD), p.at(START + 4 * PERIOD), at=START)
    assert res.ok and res.offset_steps == 4 and res.step == int(START) // PERIOD + 4
    assert verifier.get("T1").status is Status.ACTIVE
    again = verifier.enable("T1", p.at(START + 5 * PERIOD), p.at(START + 6 * PERIOD), at=START)
    assert again.reason is Reason.ALREADY_ACTIVE
    assert verifier.enable("nope", "000000", "000000").reason is Reason.UNKNOWN


def test_enable_window_edge(store: Store, clock: ManualClock) -> None:
    v = Verifier(store, Policy(enroll_window=3), clock=clock)
    v.register("T1", SECRET)
    p = _totp()
    # codes of steps +3,+4: the second falls outside a ±3 window -> only the first is searched
    assert v.enable("T1", p.at(START + 4 * PERIOD), p.at(START + 5 * PERIOD)).reason is Reason.NOT_FOUND
    assert v.enable("T1", p.at(START + 3 * PERIOD), p.at(START + 4 * PERIOD)).ok


def test_verify_window_and_replay(verifier: Verifier) -> None:
    p = _enabled(verifier)
    t = START + 10 * PERIOD
    assert verifier.verify("T1", p.at(t - 2 * PERIOD), at=t).reason is Reason.INVALID  # behind the window
    assert verifier.verify("T1", p.at(t + 2 * PERIOD), at=t).reason is Reason.INVALID  # ahead of it
    r = verifier.verify("T1", p.at(t + PERIOD), at=t)
    assert r.ok and r.offset_steps == 1 and r.auth_time == t and r.step == int(t) // PERIOD + 1
    assert r.window == (int(t) // PERIOD - 1, int(t) // PERIOD + 1)
    # the same code again, and an older code still inside the window: both replays
    assert verifier.verify("T1", p.at(t + PERIOD), at=t + 5).reason is Reason.REPLAYED
    assert verifier.verify("T1", p.at(t), at=t + 5).reason is Reason.REPLAYED
    assert verifier.verify("T1", p.at(t + 2 * PERIOD), at=t + 2 * PERIOD).ok
    assert verifier.verify("T1", "00000", at=t).reason is Reason.INVALID
    assert verifier.verify("T1", "abcdef", at=t).reason is Reason.INVALID
    assert verifier.verify("missing", "123456", at=t).reason is Reason.UNKNOWN


def test_each_of_many_codes_matches_pyotp(verifier: Verifier) -> None:
    p = _enabled(verifier)
    for i in range(1, 40):
        t = START + i * 977.0
        code = p.at(t)
        res = verifier.verify("T1", code, at=t)
        assert res.ok, (i, res)
        assert p.verify(code, for_time=t)


@pytest.mark.parametrize(("algorithm", "digits", "period"), [("SHA256", 8, 30), ("SHA512", 7, 60)])
def test_virtual_token_other_parameters(store: Store, clock: ManualClock, algorithm: str, digits: int,
                                        period: int) -> None:
    dev = VirtualTOTP(algorithm=algorithm, digits=digits, period=period, reference=clock)
    v = Verifier(store, clock=clock)
    v.register_uri("V1", dev.uri())
    c1, c2 = dev.consecutive(2)
    assert v.enable("V1", c1, c2).ok
    clock.advance(3 * period)
    code = dev.code()
    ref = pyotp.parse_uri(dev.uri())
    assert ref.verify(code, for_time=clock.now())
    assert v.verify("V1", code).ok


def test_disable(verifier: Verifier) -> None:
    p = _enabled(verifier)
    verifier.disable("T1", at=START + 1)
    assert verifier.get("T1").status is Status.DISABLED
    assert verifier.verify("T1", p.at(START + PERIOD), at=START + PERIOD).reason is Reason.NOT_ENABLED
    assert verifier.resync("T1", "000000", "000000").reason is Reason.NOT_ENABLED


def test_resync_after_long_gap(verifier: Verifier) -> None:
    _enabled(verifier)
    ahead = 3 * 3600  # the token jumped 3 hours ahead (360 steps)
    t = START + 86400
    p = _totp()
    assert verifier.verify("T1", p.at(t + ahead), at=t).reason is Reason.INVALID
    res = verifier.resync("T1", p.at(t + ahead), p.at(t + ahead + PERIOD), at=t)
    assert res.ok and res.offset_steps == 361
    assert verifier.verify("T1", p.at(t + ahead + 2 * PERIOD), at=t + PERIOD).ok
    # the resync pair cannot be replayed as a resync
    assert verifier.resync("T1", p.at(t + ahead), p.at(t + ahead + PERIOD), at=t).reason is Reason.REPLAYED
    far = 2 * 86400
    assert verifier.resync("T1", p.at(t + far), p.at(t + far + PERIOD), at=t).reason is Reason.NOT_FOUND
    est = verifier.drift("T1", at=t + PERIOD)
    assert est.points == 2 and abs(est.offset - 361.5) <= 1.5


def test_resync_window_is_configurable(store: Store, clock: ManualClock) -> None:
    v = Verifier(store, Policy(resync_window_seconds=3 * 86400), clock=clock)
    _enabled(v)
    p = _totp()
    t, far = START + 86400, 2 * 86400
    assert v.resync("T1", p.at(t + far), p.at(t + far + PERIOD), at=t).ok


def test_auto_resync(store: Store, clock: ManualClock) -> None:
    v = Verifier(store, Policy(auto_resync=True, throttle_after=0), clock=clock)
    p = _enabled(v)
    t, ahead = START + 86400, 600 * PERIOD
    first = v.verify("T1", p.at(t + ahead), at=t)
    assert first.reason is Reason.INVALID
    assert v.get("T1").resync_hint_step == int(t + ahead) // PERIOD
    # a non-consecutive second code does not resync
    assert not v.verify("T1", p.at(t + ahead + 5 * PERIOD), at=t + 10).ok
    # the hint was replaced by the last code; its successor within the timeout resyncs
    hint = v.get("T1").resync_hint_step
    assert hint is not None
    ok = v.verify("T1", p.at(hint * PERIOD + PERIOD), at=t + 20)
    assert ok.ok and ok.step == hint + 1
    assert v.verify("T1", p.at((hint + 2) * PERIOD), at=t + 30).ok, "tracking continues from the new offset"


def test_auto_resync_times_out(store: Store, clock: ManualClock) -> None:
    v = Verifier(store, Policy(auto_resync=True, auto_resync_timeout=60, throttle_after=0), clock=clock)
    p = _enabled(v)
    t, ahead = START + 86400, 600 * PERIOD
    assert not v.verify("T1", p.at(t + ahead), at=t).ok
    assert not v.verify("T1", p.at(t + ahead + PERIOD), at=t + 61).ok


def test_hotp_window_replay_and_resync(store: Store, clock: ManualClock) -> None:
    dev = VirtualHOTP(SECRET, counter=5)
    ref = pyotp.HOTP(encode_secret(SECRET))
    v = Verifier(store, Policy(hotp_look_ahead=3, throttle_after=0), clock=clock)
    v.register("H1", SECRET, kind=Kind.HOTP, counter=0)
    c1, c2 = dev.consecutive(2)  # counters 5 and 6: inside the enrollment look-ahead
    res = v.enable("H1", c1, c2)
    assert res.ok and res.step == 6
    assert v.verify("H1", c2).reason is Reason.REPLAYED
    code = dev.code()  # counter 7
    assert ref.verify(code, 7)
    r = v.verify("H1", code)
    assert r.ok and r.step == 7 and v.window("H1") == (8, 10)
    dev.counter += 2  # two presses lost: counter 10 is at the edge of the look-ahead (8, 9, 10)
    assert v.verify("H1", dev.code()).step == 10
    assert v.verify("H1", dev.peek(10)).reason is Reason.REPLAYED
    dev.counter += 50  # far ahead: out of the window, resync with two consecutive presses
    far = dev.code()
    assert v.verify("H1", far).reason is Reason.INVALID
    d1, d2 = dev.consecutive(2)
    rs = v.resync("H1", d1, d2)
    assert rs.ok and rs.step == dev.counter - 1
    assert v.verify("H1", dev.code()).ok
    assert v.resync("H1", d1, d2).reason is Reason.NOT_FOUND, "HOTP resync only searches ahead"


def test_secret_never_in_repr_or_dict(verifier: Verifier) -> None:
    _enabled(verifier)
    cred = verifier.get("T1")
    assert SECRET.hex() not in repr(cred) and "secret" not in cred.to_dict()
    assert encode_secret(SECRET) not in str(cred.to_dict()) and str(SECRET) not in repr(cred)


def test_active_registration_without_codes(verifier: Verifier) -> None:
    """PSKC --active imports: no last step yet, the vendor's counter/drift is the starting point."""
    verifier.register("H2", SECRET, kind=Kind.HOTP, counter=42, status=Status.ACTIVE)
    ref = pyotp.HOTP(encode_secret(SECRET))
    assert verifier.verify("H2", ref.at(41)).reason is Reason.INVALID
    r = verifier.verify("H2", ref.at(44))
    assert r.ok and r.step == 44 and r.offset_steps == 2
    verifier.register("T2", SECRET, offset_steps=5, status=Status.ACTIVE)
    p = _totp()
    r = verifier.verify("T2", p.at(START + 5 * PERIOD), at=START)
    assert r.ok and r.offset_steps == 5


def test_one_verifier_many_threads(store: Store, clock: ManualClock) -> None:
    """Threads sharing one Verifier (and store handle): each code is accepted exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    v = Verifier(store, Policy(throttle_after=0, lockout_after=0), clock=clock)
    p = _enabled(v)
    with ThreadPoolExecutor(max_workers=6) as pool:
        for k in range(1, 16):
            t = START + PERIOD * k
            reasons = list(pool.map(lambda at: v.verify("T1", p.at(at), at=at).reason, [t] * 6))
            assert reasons.count(Reason.OK) == 1 and reasons.count(Reason.REPLAYED) == 5, (k, reasons)


def test_last_failure_at_is_the_last_failure_not_the_last_success(verifier: Verifier) -> None:
    """verify() reserves every attempt as a failure in advance; only one that really fails is
    stamped last_failure_at (a success must not show up there)."""
    p = _enabled(verifier)
    t = START + 10 * PERIOD
    assert verifier.verify("T1", p.at(t), at=t).ok
    assert verifier.get("T1").last_failure_at is None
    wrong = "000000" if p.at(t + PERIOD) != "000000" else "111111"
    assert verifier.verify("T1", wrong, at=t + PERIOD).reason is Reason.INVALID
    assert verifier.verify("T1", p.at(t + 2 * PERIOD), at=t + 2 * PERIOD).ok
    cred = verifier.get("T1")
    assert cred.last_failure_at == t + PERIOD and cred.last_used_at == t + 2 * PERIOD
    assert verifier.resync("T1", "000000", "111111", at=t + 3 * PERIOD).reason is Reason.NOT_FOUND
    assert verifier.get("T1").last_failure_at == t + 3 * PERIOD
