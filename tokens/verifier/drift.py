"""Where is the token's clock?  A small Kalman filter over (offset, rate) and the window it implies.

State, at reference time ``t``::

    x  offset (steps): the token's step position minus the verifier's, continuous
    r  rate (ppm): how fast x moves; +1 ppm = 1e-6·Δt/period steps over Δt seconds

Prior (documented in docs/verifier.md, from the crystal facts of 32.768 kHz tuning forks)::

    r ~ N(0, rate_prior_ppm²)   rate_prior_ppm = 25: crystals of ±20 ppm tolerance (some ±50)
    r ~ N(hint, hint_sd²)       a rate carried over a resync with its own standard error (carried
                                only when that is at most rate_hint_sd_ppm = 8)

Process noise: the rate wanders (aging ±3-5 ppm/year, the -0.034 ppm/°C² temperature parabola
moving with the seasons) as a random walk whose standard deviation over 90 days is
``rate_wander_ppm``.  Between observations the offset's variance therefore grows with the cube of
the idle time; the rate's with its first power.

Observation: a success (enrollment, verify, resync) at time ``at`` matched step ``s``.  The code
was read ``d`` seconds before it was submitted (0 ≤ d ≤ ``typing_delay``) at an unknown phase of
its step, so ``x = s - p + U(0, 1) + U(0, D/P)`` with p the verifier's position: the sum of two
uniform errors, entered as its mean and variance.  Every kind of success is the same kind of
observation; a resync or auto-resync additionally passes its observation through
:func:`rate_after_jump` (jump ÷ idle time → rate), gated against clock *settings*.

The window (:func:`window`) covers :func:`coverage` (99.5 %; down to 85 % for a token whose
successes come rarely) of where the code can be: the
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
from statistics import NormalDist

from ._records import fast_init
from .model import Observation
from .policy import DAY, Policy

_PPM = 1e-6
_WANDER_SPAN = 90 * DAY  # rate_wander_ppm is the rate's random-walk sd over this span
_N = NormalDist()
_OFFSET0_SD = 0.0  # steps: an active credential with no observation yet is taken at its registered offset


@fast_init
@dataclass(frozen=True)
class FilterState:
    """The filter after its last observation (or the prior, when ``points`` is 0)."""

    at: float
    offset: float  # steps
    rate: float  # ppm
    pxx: float  # steps²
    pxr: float  # steps·ppm
    prr: float  # ppm²
    points: int
    first_at: float


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

    def centre(self, position: float) -> int:
        """The most likely step when the verifier stands at ``position`` (no typing delay)."""
        return math.floor(position + self.offset)

    def to_dict(self) -> dict[str, object]:
        return {"at": self.at, "offset_steps": round(self.offset, 4),
                "offset_sd_steps": round(self.offset_sd, 4),
                "rate_ppm": round(self.rate_ppm, 3), "rate_sd_ppm": round(self.rate_sd_ppm, 3),
                "rate_trusted": self.rate_trusted, "points": self.points,
                "span_days": round(self.span / 86400, 2),
                "mean_interval_days":
                    round(self.span / (self.points - 1) / 86400, 2) if self.points >= 2 else None}


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


def prior(at: float, policy: Policy, *, offset: float = 0.0, rate_hint: float = 0.0,
          rate_hint_sd: float = 0.0) -> FilterState:
    """Before any observation: the crystal population, or the rate carried over a resync with its
    standard error (``rate_hint_sd``; a hint stored without one gets ``policy.rate_hint_sd_ppm``)."""
    fallback = policy.rate_hint_sd_ppm if rate_hint else policy.rate_prior_ppm
    sd = rate_hint_sd if rate_hint_sd > 0 else fallback
    return FilterState(at, offset, _clamp(rate_hint, policy), _OFFSET0_SD ** 2, 0.0, sd * sd, 0, at)


def predict(st: FilterState, at: float, period: int, policy: Policy) -> FilterState:
    """Propagate to ``at`` (never backwards): the offset moves by the rate, the variances grow."""
    dt = max(0.0, at - st.at)
    if dt == 0.0:
        return st
    c = _PPM / period  # steps per ppm·second
    a = c * dt
    q = _q(policy)
    pxx = st.pxx + 2 * a * st.pxr + a * a * st.prr + q * c * c * dt ** 3 / 3
    pxr = st.pxr + a * st.prr + q * c * dt * dt / 2
    prr = st.prr + q * dt
    return FilterState(at, st.offset + a * st.rate, st.rate, pxx, pxr, prr, st.points, st.first_at)


def update(st: FilterState, obs: Observation, period: int, t0: float, policy: Policy) -> FilterState:
    """Predict to ``obs.at`` and fold the observation in."""
    if st.points == 0:  # the first observation sets the offset; the rate keeps its prior
        mean, var = _obs_noise(period, policy)
        z = obs.step - position(obs.at, period, t0) + mean
        return FilterState(obs.at, z, st.rate, var, 0.0, st.prr, 1, obs.at)
    s = predict(st, obs.at, period, policy)
    mean, var = _obs_noise(period, policy)
    z = obs.step - position(obs.at, period, t0) + mean
    innov = s.pxx + var
    kx, kr = s.pxx / innov, s.pxr / innov
    y = z - s.offset
    return FilterState(obs.at, s.offset + kx * y, _clamp(s.rate + kr * y, policy),
                       (1 - kx) * s.pxx, (1 - kx) * s.pxr, max(s.prr - kr * s.pxr, 1e-12),
                       s.points + 1, s.first_at)


def run(history: Sequence[Observation], *, period: int, t0: float, policy: Policy,
        fallback_offset: int = 0, prior_ppm: float = 0.0, created_at: float = 0.0,
        prior_sd_ppm: float = 0.0) -> FilterState:
    """The filter over ``history`` (successes, any order) from the prior.


    The same arithmetic as folding :func:`update` over the observations, on plain floats in
    :func:`_fold` (this runs after a success at the history cap: 64 observations cost ~0.06 ms
    instead of ~0.5 ms through FilterState records)."""
    obs = sorted(history, key=lambda o: o.at) if history else []
    st = prior(obs[0].at if obs else created_at, policy, offset=float(fallback_offset), rate_hint=prior_ppm,
               rate_hint_sd=prior_sd_ppm)
    if not obs:
        return st
    mean, var = _obs_noise(period, policy)
    c, q, cap = _PPM / period, _q(policy), policy.max_rate_ppm
    first = obs[0]
    f = _fold((first.at, first.step - (first.at - t0) / period + mean, st.rate, var, 0.0, st.prr),
              obs[1:], mean, var, c, q, cap, t0, period)
    return FilterState(*f, len(obs), first.at)


_Floats6 = tuple[float, float, float, float, float, float]


def _fold(f: _Floats6, obs: Sequence[Observation], mean: float, var: float, c: float, q: float, cap: float,
          t0: float, period: int) -> _Floats6:
    """The filter (t, x, r, pxx, pxr, prr) on plain floats after each of ``obs`` in turn: predict to
    its time (never backwards), fold in its offset (mean ``mean``, variance ``var``).  The one copy
    of the step :func:`run` and :func:`extend` share, so extending a state is bit for bit a longer
    run; the loop is inside, so a long history pays no call per observation."""
    t, x, r, pxx, pxr, prr = f
    for o in obs:
        dt = o.at - t
        if dt > 0.0:
            a = c * dt
            qa = q * dt
            pxx += 2 * a * pxr + a * a * prr + qa * a * a / 3
            pxr += a * prr + qa * a / 2
            prr += qa
            x += a * r
            t = o.at
        innov = pxx + var
        kx, kr = pxx / innov, pxr / innov
        y = o.step - (o.at - t0) / period + mean - x
        x += kx * y
        r = max(-cap, min(cap, r + kr * y))
        prr = max(prr - kr * pxr, 1e-12)
        pxx, pxr = (1 - kx) * pxx, (1 - kx) * pxr
    return t, x, r, pxx, pxr, prr


def extend(st: FilterState, obs: Observation, *, period: int, t0: float,
           policy: Policy) -> FilterState | None:
    """:func:`run` over the history of ``st`` plus ``obs``, from ``st`` alone (one step instead of
    the whole history): the same floating-point operations, in the same order, as one turn of
    :func:`run`'s loop (:func:`_fold`), so the result is identical to running the longer history.
    None when ``obs`` is older than ``st`` (:func:`run` would sort it in before the end)."""
    mean, var = _obs_noise(period, policy)
    if st.points == 0:  # run's start: the first observation sets the offset, the rate keeps its prior
        return FilterState(obs.at, obs.step - (obs.at - t0) / period + mean, st.rate, var, 0.0, st.prr, 1,
                           obs.at)
    if obs.at < st.at:
        return None
    f = _fold((st.at, st.offset, st.rate, st.pxx, st.pxr, st.prr), (obs,), mean, var, _PPM / period,
              _q(policy), policy.max_rate_ppm, t0, period)
    return FilterState(*f, st.points + 1, st.first_at)


def estimate_from(st: FilterState, at: float, *, period: int, policy: Policy) -> DriftEstimate:
    # predict(st, at) inline (the same operations; this runs on every verify)
    dt = max(0.0, at - st.at)
    if dt == 0.0:
        offset, pxx, prr = st.offset, st.pxx, st.prr
    else:
        c = _PPM / period
        a = c * dt
        q = _q(policy)
        pxx = st.pxx + 2 * a * st.pxr + a * a * st.prr + q * c * c * dt ** 3 / 3
        prr = st.prr + q * dt
        offset = st.offset + a * st.rate
    rate_sd = math.sqrt(prr)
    # the model's own error (a rate that bends between observations) in quadrature, once there is
    # something to predict from
    floor = policy.offset_model_sd if st.points else 0.0
    return DriftEstimate(at, offset, math.sqrt(pxx + floor * floor), st.rate, rate_sd, st.points,
                         st.at - st.first_at, st.points >= 2 and rate_sd <= policy.rate_hint_sd_ppm)


def estimate(history: Sequence[Observation], at: float, *, period: int, t0: float, policy: Policy,
             fallback_offset: int = 0, prior_ppm: float = 0.0, prior_sd_ppm: float = 0.0) -> DriftEstimate:
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
             prior_ppm=prior_ppm, created_at=at, prior_sd_ppm=prior_sd_ppm)
    return estimate_from(st, at, period=period, policy=policy)


def rate_after_jump(st: FilterState, obs: Observation, *, period: int, t0: float,
                    policy: Policy) -> tuple[float, float]:
    """(rate, sd) in ppm after a resync at ``obs``: the jump ÷ the idle time, weighed by the filter.

    A jump far outside what the rate's uncertainty allows (more than ``resync_gate_sigma``
    standard errors) is a clock that was *set*, not one that drifted: the rate is kept as it was.
    """
    if st.points == 0:
        return st.rate, math.sqrt(st.prr)
    s = predict(st, obs.at, period, policy)
    mean, var = _obs_noise(period, policy)
    y = obs.step - position(obs.at, period, t0) + mean - s.offset
    if abs(y) > policy.resync_gate_sigma * math.sqrt(s.pxx + var):
        return s.rate, math.sqrt(s.prr)
    new = update(st, obs, period, t0, policy)
    return new.rate, math.sqrt(new.prr)


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
    tail = (1 - coverage(est, policy)) / 2
    sd, z = est.offset_sd, _z(tail)
    lo = min(lo_min, _floor_quantile(tail, mid, sd, delay, mid - delay - z * sd))
    hi = max(hi_min, _floor_quantile(1 - tail, mid, sd, delay, mid + z * sd))
    target = mid - delay / 2  # the middle of where the code can be
    while hi - lo + 1 > policy.max_window:
        if (hi + 0.5 - target >= target - (lo + 0.5) and hi > hi_min) or lo >= lo_min:
            hi -= 1
        else:
            lo += 1
    return max(0, lo), max(0, hi)


_RAMP = 32  # the rare-use ramp in 1/32 steps (a bounded set of coverages, each z computed once)


def coverage(est: DriftEstimate, policy: Policy) -> float:
    """The probability the window is to cover for this token: ``policy.coverage``, lowered towards
    ``policy.rare_use_coverage`` when the mean interval between its successes (since its last enable
    or resync) is between ``rare_use_from_days`` and ``rare_use_full_days`` (linearly), and to it
    beyond.  A token with a single observation has no interval yet: full coverage."""
    if est.points < 2 or policy.rare_use_coverage >= policy.coverage:
        return policy.coverage
    days = est.span / (est.points - 1) / DAY
    if days <= policy.rare_use_from_days:
        return policy.coverage
    ramp = policy.rare_use_full_days - policy.rare_use_from_days
    f = 1.0 if days >= policy.rare_use_full_days or ramp <= 0 else \
        math.floor((days - policy.rare_use_from_days) / ramp * _RAMP) / _RAMP
    return policy.coverage - f * (policy.coverage - policy.rare_use_coverage)


_Z: dict[float, float] = {}


def _z(tail: float) -> float:
    """``_N.inv_cdf(1 - tail)``, remembered per tail (one value per policy; it runs on every verify)."""
    z = _Z.get(tail)
    if z is None:
        z = _Z[tail] = _N.inv_cdf(1 - tail)
    return z


def _clamp(rate: float, policy: Policy) -> float:
    return max(-policy.max_rate_ppm, min(policy.max_rate_ppm, rate))
