"""The drift model: the simple-case contract, closed forms, monotonicity, persistence."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokens.clock import (
    YEAR,
    ConstantTemperature,
    DriftingClock,
    DriftModel,
    ManualClock,
    PiecewiseTemperature,
    SinusoidalTemperature,
)
from tokens.errors import ClockError

times = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(t0=times, t=times, offset=st.floats(-1e5, 1e5), ppm=st.floats(-1000, 1000))
def test_simple_case_formula_is_exact(t0: float, t: float, offset: float, ppm: float) -> None:
    clk = DriftingClock(DriftModel(offset=offset, ppm=ppm, epoch=t0), ManualClock(t))
    assert clk.now() == t0 + offset + (t - t0) * (1 + ppm * 1e-6)
    assert clk.device_time(t) == t0 + offset + (t - t0) * (1 + ppm * 1e-6)


@given(ppm=st.floats(-200, 200), temp=st.floats(-40, 85), swing=st.floats(0, 30),
       aging=st.floats(-5, 5), jitter=st.floats(0, 2), seed=st.integers(0, 2**31),
       t=st.floats(1.6e9, 1.9e9), dts=st.lists(st.floats(1e-3, 1e6), min_size=1, max_size=20))
def test_device_time_strictly_increasing(ppm: float, temp: float, swing: float, aging: float,
                                         jitter: float, seed: int, t: float, dts: list[float]) -> None:
    model = DriftModel(ppm=ppm, epoch=1.6e9, temperature=SinusoidalTemperature(temp, swing),
                       aging_ppm_per_year=aging, jitter=jitter, seed=seed)
    clk = DriftingClock(model, ManualClock(0))
    prev = clk.device_time(t)
    for dt in dts:
        t += dt
        cur = clk.device_time(t)
        assert cur > prev
        prev = cur


def _numeric_integral(f, a: float, b: float, n: int = 20000) -> float:  # type: ignore[no-untyped-def]
    h = (b - a) / n
    return h * (f(a) / 2 + sum(f(a + i * h) for i in range(1, n)) + f(b) / 2)


@pytest.mark.parametrize("profile", [
    ConstantTemperature(-10.0),
    SinusoidalTemperature(20.0, 8.0, period=86400.0, phase=3600.0),
    PiecewiseTemperature([(0, 25), (3600, 35), (7200, 5), (20000, 15)]),
    PiecewiseTemperature([(0, 10), (43200, 30)], period=86400.0),
])
def test_temperature_integral_matches_numeric(profile) -> None:  # type: ignore[no-untyped-def]
    a, b = 1000.0, 1000.0 + 3 * 86400.0
    closed = profile.integral_sq(b, 25.0) - profile.integral_sq(a, 25.0)
    numeric = _numeric_integral(lambda s: (profile.at(s) - 25.0) ** 2, a, b, n=60000)
    assert closed == pytest.approx(numeric, rel=1e-4, abs=1e-3)


def test_cold_crystal_runs_slow_by_parabola() -> None:
    # at 5 °C: -0.034 * 20² = -13.6 ppm → -1.175 s/day
    clk = DriftingClock(DriftModel(epoch=0, temperature=ConstantTemperature(5.0)), ManualClock(0))
    assert clk.error_at(86400) == pytest.approx(-13.6e-6 * 86400, rel=1e-9)
    assert clk.frequency_error_ppm(100) == pytest.approx(-13.6)


def test_aging_is_quadratic_in_elapsed_time() -> None:
    clk = DriftingClock(DriftModel(epoch=0, aging_ppm_per_year=3.0), ManualClock(0))
    # ∫0^Y 3 s/Y ds = 1.5 ppm·year
    assert clk.error_at(YEAR) == pytest.approx(1.5e-6 * YEAR, rel=1e-9)


def test_jitter_is_bounded_and_seeded() -> None:
    m = DriftModel(epoch=0, jitter=0.5, seed=7)
    a, b = DriftingClock(m, ManualClock(0)), DriftingClock(m, ManualClock(0))
    other = DriftingClock(DriftModel(epoch=0, jitter=0.5, seed=8), ManualClock(0))
    errs = [a.error_at(t) for t in range(0, 10000, 7)]
    assert all(abs(e) <= 0.5 for e in errs)
    assert errs == [b.error_at(t) for t in range(0, 10000, 7)]
    assert errs != [other.error_at(t) for t in range(0, 10000, 7)]


def test_set_time_moves_anchor_and_keeps_rate() -> None:
    ref = ManualClock(1000.0)
    clk = DriftingClock(DriftModel(ppm=100, epoch=0, offset=50), ref)
    clk.set_time(1000.0)
    assert clk.now() == pytest.approx(1000.0)
    ref.advance(1e6)
    assert clk.now() == pytest.approx(1000.0 + 1e6 * (1 + 100e-6))


def test_persistence_round_trip() -> None:
    m = DriftModel(offset=3, ppm=-12.5, epoch=10, temperature=PiecewiseTemperature([(0, 1), (10, 40)]),
                   aging_ppm_per_year=2, jitter=0.1, seed=3)
    clk = DriftingClock(m, ManualClock(0))
    clk.set_time(5000, at=4000)
    back = DriftingClock.from_dict(clk.to_dict(), ManualClock(0))
    for t in (0.0, 4000.0, 1e5, 3e7):
        assert back.device_time(t) == clk.device_time(t)


@pytest.mark.parametrize("kw", [{"ppm": math.nan}, {"offset": math.inf}, {"ppm": 1e6}, {"jitter": -1}])
def test_impossible_parameters_rejected(kw: dict[str, float]) -> None:
    with pytest.raises(ClockError):
        DriftModel(**kw)


def test_manual_clock() -> None:
    c = ManualClock(5)
    assert c.advance(10) == 15 and c.now() == 15
    c.set(3)
    assert c.now() == 3
    with pytest.raises(ClockError):
        c.advance(-1)


# --------------------------------------------------------------------------- piecewise: O(log n) queries

def _old_piecewise_integral_sq(points: list[tuple[float, float]], period: float | None, t: float,
                               centre: float) -> float:
    """The O(n)-per-query way, written independently: walk every segment from the first point
    (the antiderivative is 0 there), adding each segment's exact integral of (T - c)**2."""
    import itertools
    import math

    def seg(length: float, a: float, b: float) -> float:  # ∫ over a linear piece from a to b
        u, v = a - centre, b - centre
        return length * (u * u + u * v + v * v) / 3

    pts = sorted(points)
    if period is not None:
        pts = [*pts, (pts[0][0] + period, pts[0][1])]
    t_first, t_last = pts[0][0], pts[-1][0]
    total = 0.0
    if period is not None:
        whole = sum(seg(b[0] - a[0], a[1], b[1]) for a, b in itertools.pairwise(pts))
        cycles = math.floor((t - t_first) / period)
        total, t = cycles * whole, t - cycles * period
    if t <= t_first:
        return total + (t - t_first) * (pts[0][1] - centre) ** 2
    for a, b in itertools.pairwise(pts):
        if t <= a[0]:
            break
        end = min(t, b[0])
        value_at_end = a[1] + (b[1] - a[1]) * (end - a[0]) / (b[0] - a[0]) if b[0] > a[0] else b[1]
        total += seg(end - a[0], a[1], value_at_end)
    if t > t_last:
        total += (t - t_last) * (pts[-1][1] - centre) ** 2
    return total


@given(points=st.lists(st.tuples(st.integers(-10**7, 10**7).map(float), st.floats(-40, 85)), min_size=1,
                       max_size=40, unique_by=lambda p: p[0]),
       periodic=st.booleans(), slack=st.floats(1, 1e6),
       times=st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=20), centre=st.floats(-10, 40))
def test_piecewise_bisected_integral_matches_a_linear_walk(points: list[tuple[float, float]],
                                                               periodic: bool, slack: float,
                                                               times: list[float], centre: float) -> None:
    ts = sorted(p[0] for p in points)
    period = (ts[-1] - ts[0]) + slack if periodic else None
    prof = PiecewiseTemperature(points, period=period)
    for t in times:
        for c in (centre, centre + 1):
            want = _old_piecewise_integral_sq(points, period, t, c)
            assert prof.integral_sq(t, c) == pytest.approx(want, rel=1e-9, abs=1e-6 * (1 + abs(t)))


def test_piecewise_tables_are_built_once_per_centre() -> None:
    prof = PiecewiseTemperature([(float(i), float(i % 7)) for i in range(1000)])
    for t in range(0, 1000, 7):
        prof.integral_sq(t + 0.5, 25.0)
    assert list(prof._acc) == [25.0]  # one O(n) table, reused by every query
