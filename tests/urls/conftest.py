"""Fixtures for the open_device tests: a reference clock and simulated serial tokens served on a
pty or a loopback TCP port (free port, stopped after the test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from firmware_sim.build import make_firmware
from firmware_sim.runner import PtyRunner, TcpRunner
from tokens.clock import ManualClock

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def pty_runner(clock: ManualClock) -> Iterator[PtyRunner]:
    runner = PtyRunner(make_firmware(reference=clock, drift_ppm=15.0, slots=2))
    with runner:
        yield runner


@pytest.fixture
def tcp_runner(clock: ManualClock) -> Iterator[TcpRunner]:
    runner = TcpRunner(make_firmware(reference=clock, offset=-4.0))
    with runner:
        yield runner
