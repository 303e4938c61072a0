"""pytest plugin (entry point ``pytest11``): fixtures for scripting MFA devices in your own tests.

Active whenever tokensim is installed.  See docs/pytest.md for a worked example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .clock import DriftModel, ManualClock
from .virtual import VirtualHOTP, VirtualTOTP

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def mfa_clock() -> ManualClock:
    """A manual reference clock starting at 2026-01-01T00:00:00Z; move it with ``advance``."""
    return ManualClock(DEFAULT_START)


@pytest.fixture
def totp_factory(mfa_clock: ManualClock) -> Iterator[Callable[..., VirtualTOTP]]:
    """``totp_factory(drift_ppm=40, offset=3, algorithm="SHA256", ...)`` → a VirtualTOTP on mfa_clock."""
    made: list[VirtualTOTP] = []

    def make(secret: bytes | None = None, *, drift_ppm: float = 0.0, offset: float = 0.0,
             **kw: Any) -> VirtualTOTP:
        model_kw = {k: kw.pop(k) for k in ("temperature", "aging_ppm_per_year", "jitter", "seed")
                    if k in kw}
        drift = DriftModel(ppm=drift_ppm, offset=offset, epoch=mfa_clock.now(), **model_kw)
        dev = VirtualTOTP(secret, reference=mfa_clock, drift=drift, **kw)
        made.append(dev)
        return dev

    yield make
    for d in made:
        d.close()


@pytest.fixture
def hotp_factory() -> Iterator[Callable[..., VirtualHOTP]]:
    """``hotp_factory(counter=0, digits=6, ...)`` → a VirtualHOTP."""
    made: list[VirtualHOTP] = []

    def make(secret: bytes | None = None, **kw: Any) -> VirtualHOTP:
        dev = VirtualHOTP(secret, **kw)
        made.append(dev)
        return dev

    yield make
    for d in made:
        d.close()
