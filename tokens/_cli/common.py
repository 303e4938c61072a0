"""Argument helpers shared by CLI commands (not a command module)."""

from __future__ import annotations

import argparse
import math
from datetime import datetime

from ..clock import ConstantTemperature, DriftModel, SinusoidalTemperature, TemperatureProfile
from ..errors import InputError


def parse_time(text: str) -> float:
    """Unix seconds (``59``, ``1700000000.5``) or ISO 8601 (``2026-01-01T00:00:00Z``)."""
    try:
        value = float(text)
    except ValueError:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid time {text!r} (use Unix seconds or ISO 8601)") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"invalid time {text!r}")
    return value


def finite_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return v


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")


def add_drift_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("clock drift (the device's own clock)")
    g.add_argument("--drift-ppm", type=finite_float, default=0.0, metavar="P",
                   help="frequency error in ppm (+20 runs ~52 s/month fast)")
    g.add_argument("--offset", type=finite_float, default=0.0, metavar="S",
                   help="seconds the device is ahead at the epoch")
    g.add_argument("--epoch", type=parse_time, default=None, metavar="T0",
                   help="reference time where --offset holds and aging starts (default: now)")
    g.add_argument("--temperature", type=finite_float, default=None, metavar="C",
                   help="constant ambient temperature in °C (parabolic -0.034 ppm/°C² around 25 °C)")
    g.add_argument("--daily-swing", type=finite_float, default=0.0, metavar="C",
                   help="daily temperature swing amplitude in °C around --temperature")
    g.add_argument("--aging", type=finite_float, default=0.0, metavar="PPM_PER_YEAR",
                   help="frequency aging in ppm per year")
    g.add_argument("--jitter", type=finite_float, default=0.0, metavar="S",
                   help="amplitude of seeded read-out jitter in seconds")
    g.add_argument("--seed", type=int, default=0, help="jitter seed")


def drift_from_args(args: argparse.Namespace, default_epoch: float) -> DriftModel:
    temp: TemperatureProfile | None = None
    if args.temperature is not None or args.daily_swing:
        mean = 25.0 if args.temperature is None else args.temperature
        temp = (SinusoidalTemperature(mean, args.daily_swing) if args.daily_swing
                else ConstantTemperature(mean))
    if args.jitter < 0:
        raise InputError("--jitter must not be negative")
    return DriftModel(offset=args.offset, ppm=args.drift_ppm,
                      epoch=default_epoch if args.epoch is None else args.epoch,
                      temperature=temp, aging_ppm_per_year=args.aging, jitter=args.jitter,
                      seed=args.seed)


# -- argparse value types shared by the commands (one message style everywhere)


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def positive_int(text: str) -> int:
    v = whole_number(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def positive_float(text: str) -> float:
    v = finite_float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return v


def nonneg_float(text: str) -> float:
    v = finite_float(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return v


def probability(text: str) -> float:
    v = finite_float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability must be between 0 and 1, not {text!r}")
    return v


def port_number(text: str) -> int:
    """A TCP/UDP port; 0 asks the OS for a free one."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {text!r}")
    return v
