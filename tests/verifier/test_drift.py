"""The drift claim and the estimator's guards.

THE CLAIM: a token running 40 ppm fast, verified weekly for its first two months and then once a
month for three years, is always accepted with look-behind/look-ahead 1/1 when the drift rate is
estimated — while tracking only the last offset (privacyIDEA's timeShift) fails on the same
schedule.
"""

from __future__ import annotations

import math
import random

import pytest

from tokens.clock import DriftModel, ManualClock
from tokens.verifier import MemoryStore, Observation, Policy, Reason, Store, Verifier, estimate
from tokens.virtual import VirtualTOTP

from .conftest import START

DAY = 86400.0
ENROLL = START + 9 * 3600  # 09:00


def _schedule(tod_jitter: float = 0.0, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    weekly = [ENROLL + 7 * DAY * k for k in range(1, 10)]  # first two months (9 weeks)
    monthly = [weekly[-1] + 30 * DAY * m for m in range(1, 37)]  # then three years
    return weekly + [t + rng.uniform(-tod_jitter, tod_jitter) for t in monthly]


def _run(store: Store, policy: Policy, offset: float, ppm: float = 40.0,
         times: list[float] | None = None) -> tuple[list[bool], Verifier, VirtualTOTP]:
    """Verify on schedule; a miss is followed by a resync, as a user would have to."""
    clock = ManualClock(ENROLL)
    dev = VirtualTOTP(reference=clock, drift=DriftModel(ppm=ppm, offset=offset, epoch=ENROLL))
    v = Verifier(store, policy, clock=clock)
    v.register_uri("D1", dev.uri())
    c1, c2 = dev.consecutive(2, at=ENROLL - 30)
    assert v.enable("D1", c1, c2).ok
    outcomes = []
    for t in times or _schedule():
        clock.set(t)
        res = v.verify("D1", dev.code())
        assert res.reason in (Reason.OK, Reason.INVALID)
        outcomes.append(res.ok)
        if not res.ok:  # the user types a code, waits for the next one and types it too
            c1, c2 = dev.consecutive(2, at=clock.now() - 30)
            assert v.resync("D1", c1, c2).ok
    return outcomes, v, dev


@pytest.mark.parametrize("offset", [-14.0, 0.0, 7.5, 29.9])
def test_claim_rate_estimation_never_needs_resync(store: Store, offset: float) -> None:
    outcomes, v, dev = _run(store, Policy(), offset)
    assert all(outcomes), [i for i, ok in enumerate(outcomes) if not ok]
    est = v.drift("D1")
    assert est.rate_trusted and abs(est.rate_ppm - 40.0) < 1.0
    true_offset = dev.clock.error_at(est.at) / 30
    assert abs(est.offset - true_offset) < 0.25  # 126 steps of drift, predicted to a quarter step


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_claim_holds_at_random_times_of_day(seed: int) -> None:
    times = _schedule(tod_jitter=6 * 3600, seed=seed)
    outcomes, _, _ = _run(MemoryStore(), Policy(), offset=random.Random(seed).uniform(-20, 20), times=times)
    assert all(outcomes)


@pytest.mark.parametrize("offset", [-14.0, 0.0, 7.5, 29.9])
def test_offset_only_tracking_fails_on_the_same_schedule(store: Store, offset: float) -> None:
    outcomes, _, _ = _run(store, Policy(rate_estimation=False), offset)
    monthly = outcomes[9:]
    # 40 ppm is ~3.5 steps a month: without a rate every monthly check is out of ±1 and needs a resync
    assert monthly.count(False) == len(monthly) == 36


def test_negative_drift_too(store: Store) -> None:
    outcomes, v, _ = _run(store, Policy(), offset=3.0, ppm=-35.0)
    assert all(outcomes)
    assert abs(v.drift("D1").rate_ppm + 35.0) < 1.0


# ---------------------------------------------------------------- estimator guards (pure)

def _obs(ppm: float, days: list[float], offset_s: float = 0.0) -> list[Observation]:
    out = []
    for d in days:
        t = START + d * DAY
        dev = t + offset_s + ppm * 1e-6 * (t - START)
        step = math.floor(dev / 30)
        out.append(Observation(t, step, step - math.floor(t / 30)))
    return out


def test_rate_is_capped() -> None:
    pol = Policy(max_rate_ppm=200)
    est = estimate(_obs(1000, [0, 5, 10, 20]), START + 30 * DAY, period=30, t0=0, policy=pol)
    assert est.rate_trusted and est.rate_ppm == pytest.approx(200.0)


def test_rate_needs_spread_in_time() -> None:
    pol = Policy(min_rate_span=3 * DAY, min_rate_points=2)
    short = estimate(_obs(150, [0, 1, 2]), START + 40 * DAY, period=30, t0=0, policy=pol)
    assert not short.rate_trusted and short.rate_ppm == 0.0
    one = estimate(_obs(150, [0]), START + 40 * DAY, period=30, t0=0, policy=pol)
    assert not one.rate_trusted and one.points == 1
    wide = estimate(_obs(150, [0, 4]), START + 40 * DAY, period=30, t0=0, policy=pol)
    assert wide.rate_trusted and wide.rate_ppm > 40  # ridge-shrunk towards 0, but clearly positive


def test_offset_only_mode_uses_last_integer_offset() -> None:
    hist = _obs(40, [0, 7, 14, 21])
    est = estimate(hist, START + 60 * DAY, period=30, t0=0, policy=Policy(rate_estimation=False))
    assert est.offset == hist[-1].offset_steps and est.rate_ppm == 0


def test_sub_step_interval_narrows_with_phases() -> None:
    # successes at different phases of the step pin the offset far better than one step
    hist = _obs(0, [0, 1.0001, 2.0003, 3.0005, 4.0007], offset_s=12.0)
    hist = [Observation(o.at + k * 7.3, o.step, o.offset_steps) for k, o in enumerate(hist)]
    hist = [Observation(o.at, math.floor((o.at + 12.0) / 30), 0) for o in hist]
    est = estimate(hist, START + 5 * DAY, period=30, t0=0, policy=Policy())
    assert est.interval is not None and est.interval[1] - est.interval[0] < 0.6
    assert abs(est.offset - 12.0 / 30) < 0.3


def test_window_width_never_changes(store: Store) -> None:
    pol = Policy(look_behind=1, look_ahead=2)
    _, v, _ = _run(store, pol, offset=0.0, times=_schedule()[:12])
    for day in (0, 10, 100, 1000):
        lo, hi = v.window("D1", at=ENROLL + day * DAY)
        assert hi - lo == 3


def test_many_tokens_random_times_of_day() -> None:
    """The numbers in docs/verifier.md: 300 tokens at +40 ppm, random offset and times of day.

    After the weekly phase nobody misses anything in three years; in the first two weeks (one
    observation, no rate yet, 0.8 step of drift a week) a few percent miss once."""
    from tokens.clock import DriftingClock
    from tokens.verifier.drift import position

    pol = Policy()
    early, late = 0, 0
    for seed in range(300):
        rng = random.Random(seed)
        t0 = START + rng.uniform(0, DAY)
        clk = DriftingClock(model=DriftModel(ppm=40, epoch=t0, offset=rng.uniform(-20, 20)),
                            reference=ManualClock(t0))
        times = [t0 + 7 * DAY * k for k in range(1, 10)]
        times += [times[-1] + 30.44 * DAY * m for m in range(1, 37)]
        times = [t + rng.uniform(-6 * 3600, 6 * 3600) for t in times]
        s0 = math.floor(clk.device_time(t0) / 30)
        hist = [Observation(t0, s0, s0 - math.floor(t0 / 30))]
        for i, t in enumerate(times):
            step = math.floor(clk.device_time(t) / 30)
            centre = estimate(hist, t, period=30, t0=0.0, policy=pol).centre(position(t, 30, 0.0))
            if abs(step - centre) > 1:
                early += i < 9
                late += i >= 9
                hist = []  # a resync restarts tracking
            hist.append(Observation(t, step, step - math.floor(t / 30)))
    assert late == 0
    assert early <= 20  # 16 of 300 with these seeds


@pytest.mark.parametrize("keep", [True, False])
def test_resync_restarts_offset_but_keeps_the_rate(store: Store, keep: bool) -> None:
    """Somebody sets the token's clock 10 minutes wrong: the offset jumps, the crystal's rate does
    not.  After the resync, monthly checks go on without another resync — unless the rate is
    thrown away with the history, in which case every month misses again."""
    times = _schedule()[:15]  # weekly, then 6 months
    _, v, dev = _run(store, Policy(resync_keeps_rate=keep), offset=0.0, times=times)
    clock = dev.clock.reference
    assert isinstance(clock, ManualClock)
    rate = v.drift("D1").rate_ppm
    clock.advance(30 * DAY)
    dev.clock.set_time(clock.now() + 600)
    assert not v.verify("D1", dev.code()).ok
    c1, c2 = dev.consecutive(2, at=clock.now() - 30)
    assert v.resync("D1", c1, c2).ok
    cred = v.get("D1")
    assert cred.rate_hint_ppm == (pytest.approx(rate) if keep else 0.0)
    later = [clock.now() + 30 * DAY * m for m in range(1, 13)]
    outcomes, _, _ = _continue(v, dev, later)
    if keep:
        assert all(outcomes)
    else:
        assert not outcomes[0]


def _continue(v: Verifier, dev: VirtualTOTP, times: list[float]) -> tuple[list[bool], Verifier, VirtualTOTP]:
    clock = dev.clock.reference
    assert isinstance(clock, ManualClock)
    outcomes = []
    for t in times:
        clock.set(t)
        res = v.verify("D1", dev.code())
        outcomes.append(res.ok)
        if not res.ok:  # the user types a code, waits for the next one and types it too
            c1, c2 = dev.consecutive(2, at=clock.now() - 30)
            assert v.resync("D1", c1, c2).ok
    return outcomes, v, dev
