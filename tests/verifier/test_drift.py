"""The drift claim and the estimator's guards.

THE CLAIM: a token running 40 ppm fast, verified weekly for its first two months and then once a
month for three years, is always accepted with a window that follows the filter's uncertainty
(1 step behind at least, 12 at most) — while tracking only the last offset (privacyIDEA's
timeShift) with a fixed ±1 window fails on the same schedule.
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
    assert est.rate_trusted and abs(est.rate_ppm - 40.0) < min(3.0, 3 * est.rate_sd_ppm)
    true_offset = dev.clock.error_at(est.at) / 30
    # codes here are submitted the moment they are read; the filter assumes a typing delay of
    # 15 s (half a step) on average, so its offset sits half a step above the clock's own
    assert abs(est.offset - 0.5 - true_offset) < 0.3  # 126 steps of drift, predicted to < 1/3 step


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_claim_holds_at_random_times_of_day(seed: int) -> None:
    times = _schedule(tod_jitter=6 * 3600, seed=seed)
    outcomes, _, _ = _run(MemoryStore(), Policy(), offset=random.Random(seed).uniform(-20, 20), times=times)
    assert all(outcomes)


@pytest.mark.parametrize("offset", [-14.0, 0.0, 7.5, 29.9])
def test_offset_only_tracking_fails_on_the_same_schedule(store: Store, offset: float) -> None:
    outcomes, _, _ = _run(store, Policy(rate_estimation=False, look_ahead=1), offset)
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
    assert est.rate_ppm == pytest.approx(200.0)


def test_rate_error_falls_with_spread_in_time() -> None:
    """Two successes a day apart say little about the rate (the prior's 20 ppm rules); the same two
    a month or a quarter apart pin it (jump ÷ time), to well under the resync-carry threshold."""
    pol = Policy()
    sds = []
    for days in ([0, 1], [0, 30], [0, 90]):
        est = estimate(_obs(15, days), START + (days[-1] + 1) * DAY, period=30, t0=0, policy=pol)
        sds.append(est.rate_sd_ppm)
    assert pol.rate_prior_ppm * 0.9 < sds[0] <= pol.rate_prior_ppm
    assert sds[0] > sds[1] > sds[2]
    assert sds[2] < pol.rate_hint_sd_ppm
    one = estimate(_obs(150, [0]), START + 40 * DAY, period=30, t0=0, policy=pol)
    assert not one.rate_trusted and one.points == 1 and one.rate_ppm == 0.0


def test_offset_only_mode_uses_last_integer_offset() -> None:
    hist = _obs(40, [0, 7, 14, 21])
    est = estimate(hist, START + 60 * DAY, period=30, t0=0, policy=Policy(rate_estimation=False))
    assert est.offset == hist[-1].offset_steps and est.rate_ppm == 0


def test_offset_error_narrows_with_phases() -> None:
    # successes at different phases of the step pin the offset far better than one step
    hist = _obs(0, [0, 1.0001, 2.0003, 3.0005, 4.0007], offset_s=12.0)
    hist = [Observation(o.at + k * 7.3, o.step, o.offset_steps) for k, o in enumerate(hist)]
    hist = [Observation(o.at, math.floor((o.at + 12.0) / 30), 0) for o in hist]
    one = estimate(hist[:1], hist[0].at, period=30, t0=0, policy=Policy())
    est = estimate(hist, hist[-1].at, period=30, t0=0, policy=Policy())
    assert est.offset_sd < 0.3 < 0.4 < one.offset_sd
    assert abs(est.offset - 0.5 - 12.0 / 30) < 0.3  # 0.5: the assumed mean typing delay


def test_window_follows_the_uncertainty(store: Store) -> None:
    """Right after a success the window is narrow; it widens with idle time (the rate is not yet
    known), never beyond max_window, and narrows again at the next success."""
    pol = Policy()
    _, v, dev = _run(store, pol, offset=0.0, times=_schedule()[:1])  # enrolled + one weekly success
    last = v.get("D1").last_used_at
    assert last is not None
    widths = []
    for day in (0, 3, 10, 30, 100, 1000):
        lo, hi = v.window("D1", at=last + day * DAY)
        widths.append(hi - lo + 1)
    assert widths == sorted(widths)
    assert pol.look_behind + pol.look_ahead + 1 <= widths[0] <= 5
    assert widths[-1] == pol.max_window
    clock = dev.clock.reference
    assert isinstance(clock, ManualClock)
    clock.set(last + 30 * DAY)
    assert v.verify("D1", dev.code()).ok
    lo, hi = v.window("D1", at=clock.now() + 60)
    assert hi - lo + 1 < widths[3]


def test_many_tokens_random_times_of_day() -> None:
    """300 tokens at +40 ppm, random offset and times of day, weekly for two months then monthly
    for three years: with the filter's window nobody is ever refused."""
    from tokens.clock import DriftingClock
    from tokens.verifier.drift import position, window

    pol = Policy()
    misses, widest = 0, 0
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
        for t in times:
            step = math.floor(clk.device_time(t) / 30)
            lo, hi = window(estimate(hist, t, period=30, t0=0.0, policy=pol), position(t, 30, 0.0), period=30,
                            policy=pol)
            widest = max(widest, hi - lo + 1)
            if not lo <= step <= hi:
                misses += 1
                hist = []  # a resync restarts tracking
            hist.append(Observation(t, step, step - math.floor(t / 30)))
    assert misses == 0
    assert widest <= pol.max_window


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
    # carried with its own error (after months of successes, well under the 8 ppm threshold; the
    # rate wander of 3 ppm a quarter keeps it above ~2)
    assert (0 < cred.rate_hint_sd_ppm < 4) if keep else cred.rate_hint_sd_ppm == 0
    lo, hi = v.window("D1", at=clock.now() + 30 * DAY)
    later = [clock.now() + 30 * DAY * m for m in range(1, 13)]
    outcomes, _, _ = _continue(v, dev, later)
    assert all(outcomes)  # either way: without the rate the window widens instead
    if keep:
        assert hi - lo + 1 <= 5  # 30 days at the carried rate's error (< 4 ppm, not 8)
    else:
        assert hi - lo + 1 >= 9  # 30 days at the crystal prior of 20 ppm


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


@pytest.mark.parametrize("auto", [False, True])
def test_a_resync_after_long_idle_teaches_the_rate(auto: bool) -> None:
    """Enrolled, then 200 days in a drawer at -30 ppm (-17 steps): the resync (or the auto-resync
    pair) is the most informative observation there is — jump ÷ idle time is the rate — and the
    windows after it are narrow again, not back at the crystal prior."""
    clock = ManualClock(ENROLL)
    dev = VirtualTOTP(reference=clock, drift=DriftModel(ppm=-30.0, epoch=ENROLL))
    v = Verifier(MemoryStore(), Policy(auto_resync=auto), clock=clock)
    v.register_uri("D1", dev.uri())
    assert v.enable("D1", *dev.last(2)).ok
    clock.advance(200 * DAY)
    first = v.verify("D1", dev.code())
    assert not first.ok  # 17 steps behind: outside even the widest window
    clock.advance(30)
    if auto:
        assert v.verify("D1", dev.code()).ok  # the consecutive code completes the auto-resync pair
    else:
        assert v.resync("D1", *dev.last(2)).ok
    cred = v.get("D1")
    hint, hint_sd = cred.rate_hint_ppm, cred.rate_hint_sd_ppm
    assert abs(hint + 30.0) < 3.0, hint
    assert abs(hint + 30.0) < 3 * hint_sd and 0 < hint_sd < 4, (hint, hint_sd)  # the jump's own error
    est = v.drift("D1")
    assert est.rate_ppm == pytest.approx(hint) and est.rate_sd_ppm == pytest.approx(hint_sd)
    lo, hi = v.window("D1", at=clock.now() + 30 * DAY)
    assert hi - lo + 1 <= 4  # a month later: the learnt rate, not the 25 ppm prior (12 steps)
    clock.advance(30 * DAY)
    assert v.verify("D1", dev.code()).ok


def test_a_clock_that_was_set_keeps_its_rate() -> None:
    """A jump far beyond what the rate allows is a clock *set*, not drift: the rate is kept."""
    times = _schedule()[:12]
    _, v, dev = _run(MemoryStore(), Policy(), offset=0.0, times=times)
    rate = v.drift("D1").rate_ppm
    clock = dev.clock.reference
    assert isinstance(clock, ManualClock)
    clock.advance(DAY)
    dev.clock.set_time(clock.now() - 3600)  # somebody set it an hour back
    assert v.resync("D1", *dev.last(2)).ok
    assert v.get("D1").rate_hint_ppm == pytest.approx(rate, abs=0.5)
