"""Where is the token's clock?  A small Kalman filter over offset, rate, aging and season, and the
window it implies.

State, at reference time ``t``::

    x  offset trend (steps): the token's step position minus the verifier's, continuous
    r  rate trend (ppm): how fast x moves; +1 ppm = 1e-6·Δt/period steps over Δt seconds
    g  aging (ppm/year): how fast r moves
    a, b  the seasonal temperature term (ppm): the rate is r + a·cos ωt + b·sin ωt + a2·cos 2ωt
          + b2·sin 2ωt, ω = 2π/year (a temperature sinusoid on the parabola gives both harmonics)

The offset the window is centred on is ``x`` plus the seasonal terms' integral since the history's
first observation, e.g. ``c·(a·(sin ωt - sin ωt1) - b·(cos ωt - cos ωt1))/ω`` — linear in the state, so
the filter stays a linear Kalman filter with a time-varying observation row.  The season is not
given a phase or a hemisphere: (a, b) are learnt, and until a history spans a good part of a year
their prior keeps the window honest.

Prior (documented in docs/verifier.md, from the crystal facts of 32.768 kHz tuning forks)::

    r ~ N(rate_hint, rate_prior_ppm²)   rate_prior_ppm = 25: crystals of ±20 ppm tolerance (some ±50)
                                         (rate_hint_sd_ppm around a rate carried over a resync)
    g ~ N(0, aging_prior_ppm_per_year²)  4 ppm/year: aging ±3-5 ppm in the first year
    a, b ~ N(0, seasonal_prior_ppm²)     2 ppm each: -0.034 ppm/°C² · 2·|mean - 25 °C|·swing, e.g.
                                         a pocket averaging 20 °C with a ±8 °C seasonal swing: 2.7 ppm
    a2, b2 ~ N(0, seasonal2_prior_ppm²)  1 ppm each: 0.034/2 ppm/°C² · swing², 1.1 ppm for ±8 °C

Process noise: what these terms miss (weather, where the token is kept, aging that is not linear)
is a random walk of the rate whose standard deviation over 90 days is ``rate_wander_ppm``.

Observation: a success (enrollment, verify, resync) at time ``at`` matched step ``s``.  The code
was read ``d`` seconds before it was submitted (0 ≤ d ≤ ``typing_delay``) at an unknown phase of
its step, so ``x = s - p + U(0, 1) + U(0, D/P)`` with p the verifier's position: the sum of two
uniform errors, entered as its mean and variance.  Every kind of success is the same kind of
observation; a resync or auto-resync additionally passes its observation through
:func:`rate_after_jump` (jump ÷ idle time → rate), gated against clock *settings*.

The window (:func:`window`) covers ``coverage`` (default 99.5 %; lower after a long idle time when
the policy grants a reject budget per token-year, :func:`coverage`) of where the code can be: the
predicted offset's normal distribution convolved with the uniform typing delay (which widens the
look-behind side only), never narrower than the policy's look_behind/look_ahead minimum around the predicted
step and never wider than ``max_window`` steps in total.

Everything here is pure (no store, no clock) and O(history) per call; the verifier caches the
filtered state per credential, so a verify costs one prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import mul
from statistics import NormalDist

from ._records import fast_init
from .model import Observation
from .policy import DAY, YEAR, Policy

_PPM = 1e-6
_WANDER_SPAN = 90 * DAY  # rate_wander_ppm is the rate's random-walk sd over this span
_OMEGA = 2 * math.pi / YEAR  # the seasons
_N = NormalDist()
_OFFSET0_SD = 0.0  # steps: an active credential with no observation yet is taken at its registered offset
_FREE = 1e6  # steps²: the variance of an offset nothing has been said about yet
# the state: offset, rate, aging, the annual (S, C) and semi-annual (S2, C2) seasonal amplitudes
X, R, A, S, C, S2, C2 = range(7)
_DIM = 7


@fast_init
@dataclass(frozen=True)
class FilterState:
    """The filter after its last observation (or the prior, when ``points`` is 0).

    ``state`` is (x steps, r ppm, aging ppm/year, a, b, a2, b2 ppm) and ``cov`` its covariance,
    row-major 7x7.  The token's offset at ``t`` is ``x`` plus the seasonal terms' integral since
    ``ref`` (:func:`_h_offset`).
    """

    at: float
    state: tuple[float, ...]
    cov: tuple[float, ...]
    points: int
    first_at: float
    ref: float  # time at which the seasonal integral is zero

    @property
    def rate(self) -> float:
        """The rate's trend part (ppm) at ``at`` (without the seasonal term)."""
        return self.state[R]

    def offset_at(self, t: float, period: int) -> tuple[float, float]:
        """Mean and variance (steps, steps²) of the offset at ``t`` from this state, no propagation."""
        h = _h_offset(t, self.ref, period)
        return _dot(h, self.state), _quad(self.cov, h)

    def rate_at(self, t: float) -> tuple[float, float]:
        """Mean and variance (ppm, ppm²) of the rate at ``t`` including the season, no propagation."""
        g = _h_rate(t)
        return _dot(g, self.state), _quad(self.cov, g)


@fast_init
@dataclass(frozen=True)
class DriftEstimate:
    """Prediction of a token's offset (device position minus verifier position) at ``at``."""

    at: float
    offset: float  # steps, continuous
    offset_sd: float  # steps: the standard error of ``offset``
    rate_ppm: float
    rate_sd_ppm: float
    points: int  # successes in the history
    span: float  # seconds between the oldest success and ``at``'s last observation
    rate_trusted: bool  # the rate is known to rate_hint_sd_ppm or better
    idle: float = 0.0  # seconds since the last observation (0 before the first)

    def centre(self, position: float) -> int:
        """The most likely step when the verifier stands at ``position`` (no typing delay)."""
        return math.floor(position + self.offset)

    def to_dict(self) -> dict[str, object]:
        return {"at": self.at, "offset_steps": round(self.offset, 4),
                "offset_sd_steps": round(self.offset_sd, 4),
                "rate_ppm": round(self.rate_ppm, 3), "rate_sd_ppm": round(self.rate_sd_ppm, 3),
                "rate_trusted": self.rate_trusted, "points": self.points,
                "span_days": round(self.span / 86400, 2), "idle_days": round(self.idle / 86400, 2)}


def position(t: float, period: int, t0: float) -> float:
    return (t - t0) / period


def _obs_noise(period: int, policy: Policy) -> tuple[float, float]:
    """Mean and variance of (true offset - (s - p)) for one observation: a uniform phase in the step
    plus a uniform typing delay in [0, D]."""
    d = policy.typing_delay / period
    return (1.0 + d) / 2, (1.0 + d * d) / 12


def _q(policy: Policy) -> float:
    """Rate random-walk intensity, ppm² per second."""
    return policy.rate_wander_ppm ** 2 / _WANDER_SPAN


# ---------------------------------------------------------------- 5-state linear algebra


def _dot(u: Sequence[float], v: Sequence[float]) -> float:
    total: float = sum(map(mul, u, v))  # C-level products (this runs on every verify)
    return total


def _quad(p: Sequence[float], h: Sequence[float]) -> float:
    """h·P·hᵀ (never negative)."""
    n = _DIM
    total = 0.0
    for i in range(n):
        hi = h[i]
        if hi:
            row = i * n
            total += hi * sum(map(mul, p[row:row + n], h))
    return max(0.0, total)


def _phase(t: float) -> float:
    return _OMEGA * math.fmod(t, YEAR)


def _h_offset(t: float, ref: float, period: int) -> tuple[float, ...]:
    """d offset(t) / d state: the seasonal rate's integral from ``ref`` to ``t`` in steps per ppm."""
    k = _PPM / period / _OMEGA
    pt, pr = _phase(t), _phase(ref)
    return (1.0, 0.0, 0.0, k * (math.sin(pt) - math.sin(pr)), -k * (math.cos(pt) - math.cos(pr)),
            k / 2 * (math.sin(2 * pt) - math.sin(2 * pr)), -k / 2 * (math.cos(2 * pt) - math.cos(2 * pr)))


def _h_rate(t: float) -> tuple[float, ...]:
    pt = _phase(t)
    return (0.0, 1.0, 0.0, math.cos(pt), math.sin(pt), math.cos(2 * pt), math.sin(2 * pt))


def _propagate(x: list[float], p: list[float], dt: float, period: int, q: float) -> None:
    """In place: x ← F x, P ← F P Fᵀ + Q over ``dt`` seconds (the seasonal amplitudes are constant;
    the offset integrates the rate, the rate the aging; the rate wanders as a random walk)."""
    c = _PPM / period
    a01, a02, a12 = c * dt, c * dt * dt / (2 * YEAR), dt / YEAR
    x[X] += a01 * x[R] + a02 * x[A]
    x[R] += a12 * x[A]
    n = _DIM
    for j in range(n):  # rows: F·P
        p[X * n + j] += a01 * p[R * n + j] + a02 * p[A * n + j]
        p[R * n + j] += a12 * p[A * n + j]
    for i in range(n):  # columns: (F·P)·Fᵀ
        p[i * n + X] += a01 * p[i * n + R] + a02 * p[i * n + A]
        p[i * n + R] += a12 * p[i * n + A]
    qa = q * dt
    p[X * n + X] += qa * a01 * a01 / 3
    p[X * n + R] += qa * a01 / 2
    p[R * n + X] += qa * a01 / 2
    p[R * n + R] += qa


def _fold(x: list[float], p: list[float], h: Sequence[float], z: float, var: float) -> None:
    """In place: the Kalman update with the scalar observation z = h·x + N(0, var), for an offset
    observation (h = (1, 0, 0, ...): the rate and aging are seen only through time)."""
    n = _DIM
    hs, hc, hs2, hc2 = h[S], h[C], h[S2], h[C2]
    ph = [p[i * n + X] + hs * p[i * n + S] + hc * p[i * n + C] + hs2 * p[i * n + S2] + hc2 * p[i * n + C2]
          for i in range(n)]
    innov = max(ph[X] + hs * ph[S] + hc * ph[C] + hs2 * ph[S2] + hc2 * ph[C2] + var, 1e-12)
    y = (z - x[X] - hs * x[S] - hc * x[C] - hs2 * x[S2] - hc2 * x[C2]) / innov
    for i in range(n):
        x[i] += ph[i] * y
        k = ph[i] / innov
        row = i * n
        p[row:row + n] = [a - k * b for a, b in zip(p[row:row + n], ph, strict=True)]
        if p[row + i] < 1e-12:
            p[row + i] = 1e-12


def prior(at: float, policy: Policy, *, offset: float = 0.0, rate_hint: float = 0.0) -> FilterState:
    """Before any observation: the crystal population (or the rate carried over a resync), its
    aging and its seasonal temperature term."""
    sd = policy.rate_hint_sd_ppm if rate_hint else policy.rate_prior_ppm
    cov = [0.0] * (_DIM * _DIM)
    cov[X * _DIM + X] = _OFFSET0_SD ** 2
    cov[R * _DIM + R] = sd * sd
    cov[A * _DIM + A] = policy.aging_prior_ppm_per_year ** 2
    cov[S * _DIM + S] = cov[C * _DIM + C] = policy.seasonal_prior_ppm ** 2
    cov[S2 * _DIM + S2] = cov[C2 * _DIM + C2] = policy.seasonal2_prior_ppm ** 2
    state = (offset, _clamp(rate_hint, policy), 0.0, 0.0, 0.0, 0.0, 0.0)
    return FilterState(at, state, tuple(cov), 0, at, at)


def predict(st: FilterState, at: float, period: int, policy: Policy) -> FilterState:
    """Propagate to ``at`` (never backwards): the offset moves by the rate, the variances grow."""
    dt = max(0.0, at - st.at)
    if dt == 0.0:
        return st
    x, p = list(st.state), list(st.cov)
    _propagate(x, p, dt, period, _q(policy))
    return FilterState(at, tuple(x), tuple(p), st.points, st.first_at, st.ref)


def _first(st: FilterState, obs: Observation, period: int, t0: float, policy: Policy) -> FilterState:
    """The first observation sets the offset (and the seasonal reference); the rest keeps its prior."""
    mean, var = _obs_noise(period, policy)
    x = list(st.state)
    x[X] = obs.step - position(obs.at, period, t0) + mean
    p = list(st.cov)
    for j in range(_DIM):
        p[X * _DIM + j] = p[j * _DIM + X] = 0.0
    p[X * _DIM + X] = var
    return FilterState(obs.at, tuple(x), tuple(p), 1, obs.at, obs.at)


def update(st: FilterState, obs: Observation, period: int, t0: float, policy: Policy) -> FilterState:
    """Predict to ``obs.at`` and fold the observation in."""
    if st.points == 0:
        return _first(st, obs, period, t0, policy)
    s = predict(st, obs.at, period, policy)
    mean, var = _obs_noise(period, policy)
    x, p = list(s.state), list(s.cov)
    _fold(x, p, _h_offset(obs.at, s.ref, period), obs.step - position(obs.at, period, t0) + mean, var)
    x[R] = _clamp(x[R], policy)
    return FilterState(obs.at, tuple(x), tuple(p), s.points + 1, s.first_at, s.ref)


def run(history: Sequence[Observation], *, period: int, t0: float, policy: Policy,
        fallback_offset: int = 0, prior_ppm: float = 0.0, created_at: float = 0.0) -> FilterState:
    """The filter over ``history`` (successes, any order) from the prior: :func:`update` folded
    over the observations, in place on local lists."""
    obs = sorted(history, key=lambda o: o.at) if history else []
    st = prior(obs[0].at if obs else created_at, policy, offset=float(fallback_offset), rate_hint=prior_ppm)
    if not obs:
        return st
    st = _first(st, obs[0], period, t0, policy)
    mean, var = _obs_noise(period, policy)
    q, cap = _q(policy), policy.max_rate_ppm
    x, p, t, ref = list(st.state), list(st.cov), st.at, st.ref
    for o in obs[1:]:
        if o.at > t:
            _propagate(x, p, o.at - t, period, q)
            t = o.at
        _fold(x, p, _h_offset(o.at, ref, period), o.step - (o.at - t0) / period + mean, var)
        x[R] = max(-cap, min(cap, x[R]))
    return FilterState(t, tuple(x), tuple(p), len(obs), st.first_at, ref)


def _project(st: FilterState, at: float, period: int, policy: Policy) -> tuple[float, float, float, float]:
    """(offset, its variance, rate, its variance) at ``at`` — :func:`predict` then
    ``offset_at``/``rate_at``, without forming the propagated covariance: with F the transition
    and h an observation row, h·F·x and (Fᵀh)ᵀ·P·(Fᵀh) + hᵀ·Q·h (a verify costs this)."""
    dt = max(0.0, at - st.at)
    c = _PPM / period
    a01, a02, a12 = c * dt, c * dt * dt / (2 * YEAR), dt / YEAR
    qa = _q(policy) * dt
    h = _h_offset(at, st.ref, period)
    g = _h_rate(at)
    u = (1.0, a01, a02, h[S], h[C], h[S2], h[C2])
    v = (0.0, 1.0, a12, g[S], g[C], g[S2], g[C2])
    x, p = st.state, st.cov
    return (_dot(u, x), _quad(p, u) + qa * a01 * a01 / 3, _dot(v, x), _quad(p, v) + qa)


def extend(st: FilterState, obs: Observation, *, period: int, t0: float,
           policy: Policy) -> FilterState | None:
    """:func:`run` over the history of ``st`` plus ``obs``, from ``st`` alone (one step instead of
    the whole history): the same floating-point operations, in the same order, as one turn of
    :func:`run`'s loop, so the result is identical to running the longer history from scratch.
    None when ``obs`` is older than ``st`` (:func:`run` would sort it in before the end)."""
    if st.points == 0:  # run's start: the first observation sets the offset, the rest keeps its prior
        return _first(st, obs, period, t0, policy)
    if obs.at < st.at:
        return None
    mean, var = _obs_noise(period, policy)
    q, cap = _q(policy), policy.max_rate_ppm
    x, p, t = list(st.state), list(st.cov), st.at
    if obs.at > t:
        _propagate(x, p, obs.at - t, period, q)
        t = obs.at
    _fold(x, p, _h_offset(obs.at, st.ref, period), obs.step - (obs.at - t0) / period + mean, var)
    x[R] = max(-cap, min(cap, x[R]))
    return FilterState(t, tuple(x), tuple(p), st.points + 1, st.first_at, st.ref)


def estimate_from(st: FilterState, at: float, *, period: int, policy: Policy) -> DriftEstimate:
    offset, var, rate, rate_var = _project(st, at, period, policy)
    rate_sd = math.sqrt(rate_var)
    # the model's own error (a rate that bends between observations) in quadrature, once there is
    # something to predict from
    floor = policy.offset_model_sd if st.points else 0.0
    return DriftEstimate(at, offset, math.sqrt(var + floor * floor), _clamp(rate, policy), rate_sd, st.points,
                         st.at - st.first_at, st.points >= 2 and rate_sd <= policy.rate_hint_sd_ppm,
                         max(0.0, at - st.at) if st.points else 0.0)


def estimate(history: Sequence[Observation], at: float, *, period: int, t0: float, policy: Policy,
             fallback_offset: int = 0, prior_ppm: float = 0.0) -> DriftEstimate:
    """Predict the offset at ``at`` from ``history`` (successes, any order).

    ``prior_ppm`` is the rate known before this history began (carried over a resync).  With
    ``policy.rate_estimation`` off this is offset-only tracking (privacyIDEA's timeShift): the
    last success's whole-step offset, no rate, no uncertainty.
    """
    if not policy.rate_estimation:
        obs = sorted(history, key=lambda o: o.at)
        off = float(obs[-1].offset_steps) if obs else float(fallback_offset)
        span = obs[-1].at - obs[0].at if obs else 0.0
        return DriftEstimate(at, off, 0.0, 0.0, 0.0, len(obs), span, False)
    st = run(history, period=period, t0=t0, policy=policy, fallback_offset=fallback_offset,
             prior_ppm=prior_ppm, created_at=at)
    return estimate_from(st, at, period=period, policy=policy)


def rate_after_jump(st: FilterState, obs: Observation, *, period: int, t0: float,
                    policy: Policy) -> tuple[float, float]:
    """(rate, sd) in ppm after a resync at ``obs``: the jump ÷ the idle time, weighed by the filter.

    A jump far outside what the rate's uncertainty allows (more than ``resync_gate_sigma``
    standard errors) is a clock that was *set*, not one that drifted: the rate is kept as it was.
    """
    if st.points == 0:
        return st.rate, math.sqrt(st.cov[R * _DIM + R])
    s = predict(st, obs.at, period, policy)
    mean, var = _obs_noise(period, policy)
    offset, pxx = s.offset_at(obs.at, period)
    y = obs.step - position(obs.at, period, t0) + mean - offset
    if abs(y) > policy.resync_gate_sigma * math.sqrt(pxx + var):
        rate, rvar = s.rate_at(obs.at)
        return _clamp(rate, policy), math.sqrt(rvar)
    new = update(st, obs, period, t0, policy)
    rate, rvar = new.rate_at(obs.at)
    return _clamp(rate, policy), math.sqrt(rvar)


def code_cdf(y: float, mean: float, sd: float, delay: float) -> float:
    """P(offset - typing delay < y) for offset ~ N(mean, sd²) and delay ~ U(0, ``delay``) (steps).

    The convolution in closed form: the integral of Phi is z*Phi(z) + phi(z)."""
    if sd <= 1e-12:
        if delay <= 1e-12:
            return 1.0 if y > mean else 0.0
        return min(1.0, max(0.0, (y - mean + delay) / delay))
    if delay <= 1e-9:
        return _cdf((y - mean) / sd)
    # _g of both ends inline (the same operations; several calls per verify)
    a, b = (y + delay - mean) / sd, (y - mean) / sd
    ga = a * (0.5 * math.erfc(-a / _SQRT2)) + math.exp(-a * a / 2) / _SQRT2PI
    gb = b * (0.5 * math.erfc(-b / _SQRT2)) + math.exp(-b * b / 2) / _SQRT2PI
    return sd / delay * (ga - gb)


_SQRT2 = math.sqrt(2)
_SQRT2PI = math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / _SQRT2)


def _g(z: float) -> float:
    return z * _cdf(z) + math.exp(-z * z / 2) / _SQRT2PI


def code_quantile(q: float, mean: float, sd: float, delay: float) -> float:
    """The ``q`` quantile of where the submitted code's step lies (continuous, steps)."""
    lo, hi = mean - delay - 10 * sd - 1e-6, mean + 10 * sd + 1e-6
    for _ in range(48):
        mid = (lo + hi) / 2
        if code_cdf(mid, mean, sd, delay) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _floor_quantile(q: float, mean: float, sd: float, delay: float, guess: float) -> int:
    """floor(code_quantile(q, ...)) — the largest whole k with P(y < k) <= q — found by stepping
    from a guess (two or three CDF evaluations instead of a bisection)."""
    k = math.floor(guess)
    while code_cdf(k, mean, sd, delay) > q:
        k -= 1
    while code_cdf(k + 1, mean, sd, delay) <= q:
        k += 1
    return k


def coverage(idle: float, policy: Policy) -> float:
    """The probability the window must cover after ``idle`` seconds without a success.

    A budget of first-try rejects per token-*year* (``rejects_per_year``), not per login: the chance
    that the token wandered out of the window accrues with the idle time, so a token used daily
    gets ``policy.coverage`` (its window is at the narrow minimum anyway) while one used once a
    quarter is allowed ``rejects_per_year`` times 0.25 of a reject per login — never less coverage than
    ``coverage_min``.  ``rejects_per_year`` 0 keeps ``coverage`` for every idle time.
    """
    budget = policy.rejects_per_year * idle / YEAR
    return max(policy.coverage_min, min(policy.coverage, 1.0 - budget))


def window(est: DriftEstimate, pos: float, *, period: int, policy: Policy) -> tuple[int, int]:
    """First and last step to accept when the verifier stands at ``pos``.

    The code shown ``d`` seconds before submission sits at ``pos + offset - d/period``; the window
    covers ``policy.coverage`` of that (the filter's normal offset convolved with a uniform typing
    delay, which widens only the look-behind side), at least ``look_behind``/``look_ahead`` around
    the predicted step, at most ``max_window`` steps, cut from the end farther from the prediction.
    """
    mid = pos + est.offset
    centre = math.floor(mid)
    lo_min, hi_min = centre - policy.look_behind, centre + policy.look_ahead
    if not policy.rate_estimation:
        return max(0, lo_min), max(0, hi_min)
    delay = policy.typing_delay / period
    tail = (1 - coverage(est.idle, policy)) / 2
    sd, z = est.offset_sd, _N.inv_cdf(1 - tail)
    lo = min(lo_min, _floor_quantile(tail, mid, sd, delay, mid - delay - z * sd))
    hi = max(hi_min, _floor_quantile(1 - tail, mid, sd, delay, mid + z * sd))
    target = mid - delay / 2  # the middle of where the code can be
    while hi - lo + 1 > policy.max_window:
        if (hi + 0.5 - target >= target - (lo + 0.5) and hi > hi_min) or lo >= lo_min:
            hi -= 1
        else:
            lo += 1
    return max(0, lo), max(0, hi)


_Z: dict[float, float] = {}


def _z(tail: float) -> float:
    """``_N.inv_cdf(1 - tail)``, remembered per tail (one value per policy; it runs on every verify)."""
    z = _Z.get(tail)
    if z is None:
        z = _Z[tail] = _N.inv_cdf(1 - tail)
    return z


def _clamp(rate: float, policy: Policy) -> float:
    return max(-policy.max_rate_ppm, min(policy.max_rate_ppm, rate))
