"""Drift tracking: predict where a TOTP token's clock is now from where it was at past successes.

Positions are measured in *steps*.  At reference time ``t`` the verifier stands at the continuous
position ``u(t) = (t - T0) / period``; a token whose clock is ``d`` steps ahead shows the code of
step ``floor(u + d)``.  One success at ``t_i`` with matched step ``s_i`` therefore does not give
``d(t_i)``, only an interval one step wide::

    s_i - u(t_i)  <=  d(t_i)  <  s_i - u(t_i) + 1

The estimator works on those intervals, not on the integer offsets:

1. **Rate.**  A weighted ridge regression of the interval midpoints on time gives the drift rate
   (steps per second, reported in ppm).  Weights halve every ``rate_half_life``; a prior of
   ``rate_prior_ppm`` shrinks a short or noisy history towards zero.  The rate is used only when
   at least ``min_rate_points`` successes span at least ``min_rate_span`` seconds, and it is capped
   at ``±max_rate_ppm``.  A rate carried over a resync (the crystal is the same, only the offset
   jumped) stands in until then and is the centre of the shrinkage after.
2. **Offset.**  The newest intervals (up to 16) are carried forward to ``t`` along that rate,
   newest first, and intersected while the intersection stays non-empty.  Successes at different phases of the
   step cut the interval well below one step; the newest success always counts.  The prediction
   is the midpoint of what remains.

The verify window is then centred on step ``floor(u(t) + prediction)`` with the policy's fixed
look-behind/look-ahead: a bad estimate can move the window, never widen it.

With rate estimation switched off the prediction is the last integer offset (privacyIDEA's
``timeShift``), which is what this module's tests compare against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .model import Observation
from .policy import Policy

_QUANT_VAR = 1.0 / 12.0  # variance of a uniform error over one step
_INTERSECT_MAX = 16  # newest successes intersected: ~1/16 step resolution, bounded cost per verify


@dataclass(frozen=True)
class DriftEstimate:
    """Prediction of a token's offset (device position minus verifier position) at ``at``."""

    at: float
    offset: float  # steps, continuous
    rate_ppm: float  # the rate used (0.0 when not trusted or switched off)
    rate_trusted: bool
    points: int  # successes in the history
    span: float  # seconds between the oldest and newest success
    interval: tuple[float, float] | None  # consistent offsets at ``at`` (steps), if any

    def centre(self, position: float) -> int:
        """The step to centre the window on when the verifier stands at ``position``."""
        return math.floor(position + self.offset)

    def to_dict(self) -> dict[str, object]:
        return {"at": self.at, "offset_steps": round(self.offset, 4), "rate_ppm": round(self.rate_ppm, 3),
                "rate_trusted": self.rate_trusted, "points": self.points,
                "span_days": round(self.span / 86400, 2),
                "interval": [round(x, 4) for x in self.interval] if self.interval else None}


def position(t: float, period: int, t0: float) -> float:
    return (t - t0) / period


def estimate(history: Sequence[Observation], at: float, *, period: int, t0: float, policy: Policy,
             fallback_offset: int = 0, prior_ppm: float = 0.0) -> DriftEstimate:
    """Predict the offset at ``at`` from ``history`` (successes, any order).

    ``prior_ppm`` is the rate known before this history began (carried over a resync): it is used
    until the history can be trusted, and is the centre the regression is shrunk towards after.
    """
    obs = sorted(history, key=lambda o: o.at)
    if not obs:
        return DriftEstimate(at, float(fallback_offset), 0.0, False, 0, 0.0, None)
    span = obs[-1].at - obs[0].at
    if not policy.rate_estimation:
        return DriftEstimate(at, float(obs[-1].offset_steps), 0.0, False, len(obs), span, None)
    cap = policy.max_rate_ppm * 1e-6 / period
    prior = max(-cap, min(cap, prior_ppm * 1e-6 / period))  # steps per second
    trusted = len(obs) >= policy.min_rate_points and span >= policy.min_rate_span
    rate = _rate(obs, period, t0, policy, prior) if trusted else prior
    rate = max(-cap, min(cap, rate))
    lo, hi = -math.inf, math.inf
    for o in reversed(obs[-_INTERSECT_MAX:]):
        base = o.step - position(o.at, period, t0) + rate * (at - o.at)
        nlo, nhi = max(lo, base), min(hi, base + 1.0)
        if nlo >= nhi:
            break
        lo, hi = nlo, nhi
    return DriftEstimate(at, (lo + hi) / 2, rate * period * 1e6, trusted, len(obs), span, (lo, hi))


def _rate(obs: Sequence[Observation], period: int, t0: float, policy: Policy, prior: float) -> float:
    """Weighted ridge regression of interval midpoints on time, shrunk towards ``prior``;
    steps per second."""
    t_ref = obs[-1].at
    scale = 86400.0  # regress in days to keep the normal equations well conditioned
    sw = swx = swxx = swy = swxy = 0.0
    for o in obs:
        x = (o.at - t_ref) / scale
        y = o.step - position(o.at, period, t0) + 0.5
        w = 0.5 ** ((t_ref - o.at) / policy.rate_half_life)
        sw += w
        swx += w * x
        swxx += w * x * x
        swy += w * y
        swxy += w * x * y
    sd_ppm = policy.rate_hint_sd_ppm if prior else policy.rate_prior_ppm
    prior_sd = sd_ppm * 1e-6 / period * scale  # steps per day
    ridge = _QUANT_VAR / (prior_sd * prior_sd)
    mu = prior * scale  # steps per day
    det = sw * (swxx + ridge) - swx * swx
    if det <= 0:
        return prior
    slope = (sw * (swxy + ridge * mu) - swx * swy) / det
    return slope / scale
