"""Clocks: the reference clock the world runs on, and the drifting clock inside a token.

Every device in tokensim reads time through a :class:`Clock`; nothing calls ``time.time()``
directly except :class:`SystemClock`.  Tests use :class:`ManualClock` and never sleep.

A :class:`DriftingClock` maps *reference* time ``t`` to *device* time in O(1)::

    device(t) = D0 + (t - R0)(1 + ppm·1e-6) + 1e-6·[G(t) - G(R0)] + jitter(t)

where ``(R0, D0)`` is the anchor (initially ``(epoch, epoch + offset)``, moved by :meth:`set_time`)
and ``G`` is the antiderivative of the frequency error beyond the fixed ppm: linear aging plus the
parabolic temperature term ``k·(T(s) - turnover)²`` of a 32.768 kHz tuning-fork crystal.  With only
``offset`` and ``ppm`` set, this is exactly ``T0 + offset + (t - T0)(1 + ppm·1e-6)``.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import struct
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

from .errors import ClockError

YEAR = 365.25 * 86400.0
DEFAULT_TEMP_COEFF = -0.034  # ppm / °C², tuning-fork crystal
DEFAULT_TURNOVER = 25.0  # °C


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now() -> float`` (seconds since the Unix epoch)."""

    def now(self) -> float: ...


class SystemClock:
    """The host's wall clock."""

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to: the clock for tests and simulations."""

    def __init__(self, start: float = 0.0) -> None:
        self._t = float(start)

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        self._t = float(t)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ClockError(f"cannot advance a clock by a negative amount ({seconds} s); use set()")
        self._t += seconds
        return self._t

    def __repr__(self) -> str:
        return f"ManualClock({self._t!r})"


# --------------------------------------------------------------------------- temperature profiles


class TemperatureProfile(ABC):
    """Ambient temperature over reference time, with a closed-form integral of (T - c)²."""

    @abstractmethod
    def at(self, t: float) -> float:
        """Temperature in °C at reference time ``t``."""

    @abstractmethod
    def integral_sq(self, t: float, centre: float) -> float:
        """An antiderivative of ``(T(s) - centre)²`` evaluated at ``t`` (°C²·s)."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    @staticmethod
    def from_dict(d: dict[str, Any]) -> TemperatureProfile:
        kind = d.get("type")
        if kind == "constant":
            return ConstantTemperature(float(d["celsius"]))
        if kind == "sinusoidal":
            return SinusoidalTemperature(
                float(d["mean"]), float(d["amplitude"]), float(d.get("period", 86400.0)),
                float(d.get("phase", 0.0)),
            )
        if kind == "piecewise":
            return PiecewiseTemperature([(float(a), float(b)) for a, b in d["points"]],
                                        period=d.get("period"))
        raise ClockError(f"unknown temperature profile type {kind!r}")


@dataclass(frozen=True)
class ConstantTemperature(TemperatureProfile):
    celsius: float

    def at(self, t: float) -> float:
        return self.celsius

    def integral_sq(self, t: float, centre: float) -> float:
        return (self.celsius - centre) ** 2 * t

    def to_dict(self) -> dict[str, Any]:
        return {"type": "constant", "celsius": self.celsius}


@dataclass(frozen=True)
class SinusoidalTemperature(TemperatureProfile):
    """``mean + amplitude·sin(2π(t - phase)/period)``: a daily (or seasonal) cycle."""

    mean: float
    amplitude: float
    period: float = 86400.0
    phase: float = 0.0

    def __post_init__(self) -> None:
        if not self.period > 0:
            raise ClockError("temperature period must be positive")

    def at(self, t: float) -> float:
        return self.mean + self.amplitude * math.sin(2 * math.pi * (t - self.phase) / self.period)

    def integral_sq(self, t: float, centre: float) -> float:
        d, a = self.mean - centre, self.amplitude
        w = 2 * math.pi / self.period
        # the phase angle is reduced modulo 2π first so large t loses no precision in sin/cos
        theta = w * math.fmod(t - self.phase, self.period)
        return ((d * d + a * a / 2) * t - 2 * a * d * math.cos(theta) / w
                - a * a * math.sin(2 * theta) / (4 * w))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "sinusoidal", "mean": self.mean, "amplitude": self.amplitude,
                "period": self.period, "phase": self.phase}


class PiecewiseTemperature(TemperatureProfile):
    """Linear interpolation between ``(t, °C)`` points; flat outside them, or repeating with ``period``.

    Queries cost O(log n) in the number of points: the points (closed into a cycle when periodic)
    and, per ``centre``, the cumulative integrals of ``(T - centre)²`` up to each point are computed
    once; a query bisects for its segment and adds the partial segment in closed form.
    """

    _MAX_CENTRES = 8  # cumulative tables kept (a drift model asks for one: its turnover)

    def __init__(self, points: Sequence[tuple[float, float]], period: float | None = None) -> None:
        pts = sorted((float(a), float(b)) for a, b in points)
        if not pts:
            raise ClockError("a piecewise temperature profile needs at least one point")
        if any(b[0] == a[0] for a, b in itertools.pairwise(pts)):
            raise ClockError("piecewise temperature points need distinct times")
        if period is not None and not (period > 0 and pts[-1][0] - pts[0][0] <= period):
            raise ClockError("the period must be positive and cover all the points")
        self.points = pts
        self.period = float(period) if period is not None else None
        self._cycle = self._points()
        self._ts = [p[0] for p in self._cycle]
        self._acc: dict[float, list[float]] = {}

    def _canon(self, t: float) -> float:
        if self.period is None:
            return t
        t0 = self.points[0][0]
        return t0 + math.fmod(t - t0, self.period) % self.period

    def _points(self) -> list[tuple[float, float]]:
        if self.period is None:
            return self.points
        # close the cycle back to the first value
        return [*self.points, (self.points[0][0] + self.period, self.points[0][1])]

    def at(self, t: float) -> float:
        pts, ts = self._cycle, self._ts
        t = self._canon(t)
        if t <= ts[0]:
            return pts[0][1]
        if t >= ts[-1]:
            return pts[-1][1]
        i = bisect.bisect_right(ts, t) - 1
        (a, ta), (b, tb) = pts[i], pts[i + 1]
        return ta + (tb - ta) * (t - a) / (b - a)

    def _cumulative(self, centre: float) -> list[float]:
        """∫(T - centre)² from the first point to each point; computed once per centre (O(n))."""
        acc = self._acc.get(centre)
        if acc is None:
            acc = [0.0]
            for (a, ta), (b, tb) in itertools.pairwise(self._cycle):
                u0, u1 = ta - centre, tb - centre
                acc.append(acc[-1] + (b - a) * (u0 * u0 + u0 * u1 + u1 * u1) / 3)
            if len(self._acc) >= self._MAX_CENTRES:
                self._acc.clear()
            self._acc[centre] = acc
        return acc

    def integral_sq(self, t: float, centre: float) -> float:
        pts, ts = self._cycle, self._ts
        acc = self._cumulative(centre)
        base = 0.0
        if self.period is not None:
            cycles = math.floor((t - ts[0]) / self.period)
            base = cycles * acc[-1]
            t = t - cycles * self.period
        if t <= ts[0]:
            return base + (t - ts[0]) * (pts[0][1] - centre) ** 2
        if t >= ts[-1]:
            return base + acc[-1] + (t - ts[-1]) * (pts[-1][1] - centre) ** 2
        i = bisect.bisect_right(ts, t) - 1
        u0 = pts[i][1] - centre
        u1 = self.at(t) - centre
        return base + acc[i] + (t - ts[i]) * (u0 * u0 + u0 * u1 + u1 * u1) / 3

    def to_dict(self) -> dict[str, Any]:
        return {"type": "piecewise", "points": [list(p) for p in self.points], "period": self.period}

    def __repr__(self) -> str:
        return f"PiecewiseTemperature({self.points!r}, period={self.period!r})"


# --------------------------------------------------------------------------- drift model


@dataclass(frozen=True)
class DriftModel:
    """Parameters of a token's oscillator.

    offset   seconds the device is ahead of reference time at ``epoch``
    ppm      fixed frequency error (parts per million; +20 runs fast by ~52 s/month)
    epoch    reference time at which ``offset`` holds and aging starts (T0)
    temp_coeff, turnover   parabolic temperature coefficient (ppm/°C²) and turnover (°C)
    temperature   ambient profile; None means the crystal sits at its turnover (no effect)
    aging_ppm_per_year   linear frequency change per year since ``epoch``
    jitter   amplitude (s) of seeded, smooth read-out noise; device time stays monotonic
    """

    offset: float = 0.0
    ppm: float = 0.0
    epoch: float = 0.0
    temp_coeff: float = DEFAULT_TEMP_COEFF
    turnover: float = DEFAULT_TURNOVER
    temperature: TemperatureProfile | None = None
    aging_ppm_per_year: float = 0.0
    jitter: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("offset", "ppm", "epoch", "temp_coeff", "turnover", "aging_ppm_per_year", "jitter"):
            if not math.isfinite(getattr(self, name)):
                raise ClockError(f"{name} must be a finite number")
        if not -500_000 < self.ppm < 500_000:
            raise ClockError(f"ppm {self.ppm} is out of range (|ppm| < 500000)")
        if self.jitter < 0:
            raise ClockError("jitter must not be negative")

    def to_dict(self) -> dict[str, Any]:
        return {
            "offset": self.offset, "ppm": self.ppm, "epoch": self.epoch,
            "temp_coeff": self.temp_coeff, "turnover": self.turnover,
            "temperature": self.temperature.to_dict() if self.temperature else None,
            "aging_ppm_per_year": self.aging_ppm_per_year, "jitter": self.jitter, "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        temp = d.get("temperature")
        try:
            return cls(
                offset=float(d.get("offset", 0.0)), ppm=float(d.get("ppm", 0.0)),
                epoch=float(d.get("epoch", 0.0)),
                temp_coeff=float(d.get("temp_coeff", DEFAULT_TEMP_COEFF)),
                turnover=float(d.get("turnover", DEFAULT_TURNOVER)),
                temperature=TemperatureProfile.from_dict(temp) if temp else None,
                aging_ppm_per_year=float(d.get("aging_ppm_per_year", 0.0)),
                jitter=float(d.get("jitter", 0.0)), seed=int(d.get("seed", 0)),
            )
        except (TypeError, ValueError, KeyError) as e:
            if isinstance(e, ClockError):
                raise
            raise ClockError(f"bad drift model: {e}") from None


@dataclass
class DriftingClock:
    """A token's clock: reference time in, drifted device time out (O(1) per query)."""

    model: DriftModel = field(default_factory=DriftModel)
    reference: Clock = field(default_factory=SystemClock)
    # anchor: device time ``dev_anchor`` at reference time ``ref_anchor``; None → (epoch, epoch+offset)
    ref_anchor: float | None = None
    dev_anchor: float | None = None

    @classmethod
    def create(cls, reference: Clock | None = None, **params: Any) -> Self:
        """``DriftingClock.create(ManualClock(0), ppm=40, offset=2.5)``."""
        return cls(model=DriftModel(**params), reference=reference or SystemClock())

    # -- anchors
    @property
    def _anchor(self) -> tuple[float, float]:
        m = self.model
        if self.ref_anchor is None or self.dev_anchor is None:
            return m.epoch, m.epoch + m.offset
        return self.ref_anchor, self.dev_anchor

    def _extra(self, t: float) -> float:
        """Antiderivative (ppm·s) of aging + temperature, measured from the epoch."""
        m = self.model
        dt = t - m.epoch
        g = m.aging_ppm_per_year * dt * dt / (2 * YEAR)
        if m.temperature is not None and m.temp_coeff != 0:
            g += m.temp_coeff * (m.temperature.integral_sq(t, m.turnover)
                                 - m.temperature.integral_sq(m.epoch, m.turnover))
        return g

    def _jitter(self, t: float) -> float:
        j = self.model.jitter
        if j == 0:
            return 0.0
        h = max(1.0, 4.0 * j)  # knot spacing: slope of the noise stays <= 0.5
        k = math.floor(t / h)
        frac = t / h - k
        return (1 - frac) * self._knot(k) + frac * self._knot(k + 1)

    def _knot(self, k: int) -> float:
        digest = hashlib.blake2b(struct.pack("<qq", self.model.seed, k), digest_size=8).digest()
        u = int.from_bytes(digest, "little") / 2.0**64
        return (2 * u - 1) * self.model.jitter

    # -- queries
    def device_time(self, t: float) -> float:
        """Device time shown at reference time ``t``."""
        m = self.model
        r0, d0 = self._anchor
        out = d0 + (t - r0) * (1 + m.ppm * 1e-6)
        if m.aging_ppm_per_year or m.temperature is not None:
            out += 1e-6 * (self._extra(t) - self._extra(r0))
        if m.jitter:
            out += self._jitter(t)
        return out

    def now(self) -> float:
        return self.device_time(self.reference.now())

    def error_at(self, t: float) -> float:
        """device_time(t) - t, seconds the device is ahead."""
        return self.device_time(t) - t

    def frequency_error_ppm(self, t: float) -> float:
        """Instantaneous frequency error at reference time ``t``."""
        m = self.model
        f = m.ppm + m.aging_ppm_per_year * (t - m.epoch) / YEAR
        if m.temperature is not None:
            f += m.temp_coeff * (m.temperature.at(t) - m.turnover) ** 2
        return f

    def set_time(self, device_t: float, at: float | None = None) -> None:
        """Set the device clock to ``device_t`` at reference time ``at`` (default: now)."""
        if not math.isfinite(device_t):
            raise ClockError("device time must be finite")
        r = self.reference.now() if at is None else float(at)
        # keep the oscillator's physics; only move the anchor (jitter is re-added on read)
        self.ref_anchor, self.dev_anchor = r, float(device_t) - self._jitter(r)

    def to_dict(self) -> dict[str, Any]:
        d = self.model.to_dict()
        if self.ref_anchor is not None:
            d["anchor"] = [self.ref_anchor, self.dev_anchor]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], reference: Clock | None = None) -> Self:
        anchor = d.get("anchor")
        clk = cls(model=DriftModel.from_dict(d), reference=reference or SystemClock())
        if anchor:
            clk.ref_anchor, clk.dev_anchor = float(anchor[0]), float(anchor[1])
        return clk
