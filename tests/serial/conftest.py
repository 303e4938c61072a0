"""Fixtures: a firmware on a manual reference clock, served over a real pty or a TCP socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from firmware_sim.build import make_firmware
from firmware_sim.faults import Endpoint
from firmware_sim.firmware import Firmware
from firmware_sim.runner import PtyRunner, Runner, TcpRunner
from hw.token import SerialToken
from tokens.clock import ManualClock

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
PIN = "246810"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fw(clock: ManualClock) -> Firmware:
    return make_firmware(serial="TS00000042", reference=clock, pin=PIN)


@pytest.fixture(params=["pty", "tcp"])
def serve(request: pytest.FixtureRequest) -> Iterator[Callable[[Endpoint], Runner]]:
    """``serve(endpoint)`` → a started runner (pty or socket://), stopped at teardown."""
    started: list[Runner] = []

    def start(endpoint: Endpoint) -> Runner:
        r: Runner = PtyRunner(endpoint) if request.param == "pty" else TcpRunner(endpoint)
        r.start()
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()
        assert r.error is None, r.error


@pytest.fixture
def open_token() -> Iterator[Callable[..., SerialToken]]:
    opened: list[SerialToken] = []

    def op(url: str, **kw: object) -> SerialToken:
        kw.setdefault("pin", PIN)
        tok = SerialToken.open(url, **kw)  # type: ignore[arg-type]
        opened.append(tok)
        return tok

    yield op
    for t in opened:
        t.close()
