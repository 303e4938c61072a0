"""Driver ↔ simulator over a real pseudo-terminal and over ``socket://`` (free port on 127.0.0.1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pyotp
import pytest

from firmware_sim.build import make_firmware
from firmware_sim.faults import Endpoint, FaultPlan, FaultyEndpoint
from firmware_sim.firmware import Firmware
from firmware_sim.runner import Runner
from hw.errors import NotResponding, Unplugged
from hw.token import SerialToken
from tokens.clock import DriftModel, ManualClock
from tokens.otp import encode_secret

from .conftest import PIN, START

SEED = bytes(range(40, 60))


class Switch:
    """An endpoint that starts clean and switches to a faulty wrapper on demand."""

    def __init__(self, inner: Endpoint, faulty: Endpoint) -> None:
        self.inner, self.faulty, self.on = inner, faulty, False

    def _cur(self) -> Endpoint:
        return self.faulty if self.on else self.inner

    def feed(self, data: bytes) -> bytes:
        return self._cur().feed(data)

    def poll(self) -> bytes:
        return self._cur().poll()

    def wakeup(self) -> float | None:
        return self._cur().wakeup()


def test_provision_and_codes_over_the_port(serve: Callable[[Endpoint], Runner], clock: ManualClock,
                                           open_token: Callable[..., SerialToken]) -> None:
    fw = make_firmware(serial="TS00000077", reference=clock, pin=PIN,
                       drift=DriftModel(ppm=50, offset=2.0, epoch=START))
    runner = serve(fw)
    tok = open_token(runner.url)
    assert tok.identity == "TS00000077"
    tok.provision(3, SEED, algorithm="SHA256", digits=8, period=30)
    ref = pyotp.TOTP(encode_secret(SEED), digits=8, digest="sha256")
    for _ in range(5):
        r = tok.get_code(3)
        assert r.code == ref.at(r.time_ms / 1000)
        assert r.time_ms / 1000 == pytest.approx(START + 2.0 + (clock.now() - START) * (1 + 50e-6), abs=0.002)
        clock.advance(3600)
    assert [s.provisioned for s in tok.list_slots()] == [False, False, False, True]


def test_unplug_mid_command_is_a_typed_error(serve: Callable[[Endpoint], Runner], fw: Firmware,
                                             open_token: Callable[..., SerialToken]) -> None:
    sw = Switch(fw, FaultyEndpoint(fw, FaultPlan(unplug=1.0)))
    runner = serve(sw)
    tok = open_token(runner.url)
    tok.provision(0, SEED)
    sw.on = True
    t0 = time.monotonic()
    with pytest.raises(Unplugged):
        tok.get_code(0)
    assert time.monotonic() - t0 < 3.0
    assert runner.unplugged.is_set()
    with pytest.raises(Unplugged):  # the link stays dead: no silent reconnect to something else
        tok.get_time()


def test_silent_device_is_not_responding_within_bound(serve: Callable[[Endpoint], Runner], fw: Firmware,
                                                      open_token: Callable[..., SerialToken]) -> None:
    sw = Switch(fw, FaultyEndpoint(fw, FaultPlan(drop=1.0)))
    runner = serve(sw)
    tok = open_token(runner.url, timeout=0.05, retries=2)
    sw.on = True
    t0 = time.monotonic()
    with pytest.raises(NotResponding):
        tok.get_info()
    elapsed = time.monotonic() - t0
    assert 0.14 <= elapsed < 2.0
    assert tok.link.stats["retries"] == 2


def test_button_press_through_the_runner(serve: Callable[[Endpoint], Runner], clock: ManualClock,
                                         open_token: Callable[..., SerialToken]) -> None:
    fw = make_firmware(reference=clock, pin=PIN, button=True)
    runner = serve(fw)
    tok = open_token(runner.url, timeout=0.1, retries=2)
    tok.provision(0, SEED)
    presser = threading.Timer(0.5, lambda: runner.run_in_loop(fw.press_button))
    presser.start()
    try:
        r = tok.get_code(0)  # longer than timeout·(retries+1): keepalives keep it waiting
    finally:
        presser.cancel()
    assert r.code == pyotp.TOTP(encode_secret(SEED)).at(START)
    assert tok.link.stats["keepalives"] >= 1


def test_garbage_before_the_first_frame_is_skipped(serve: Callable[[Endpoint], Runner], fw: Firmware) -> None:
    import serial

    runner = serve(fw)
    port = serial.serial_for_url(runner.url, timeout=0.5)
    try:
        port.write(b"\x13\x37garbage without a delimiter \xff\xfe")  # line noise before the host starts
        tok = SerialToken(port, pin=PIN)
        assert tok.identity == fw.serial
    finally:
        port.close()
