"""Each wire fault yields a successful retry or a clean typed error in bounded time: never a hang,
never a wrong code (every code is checked with pyotp against the slot it claims to come from)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pyotp
import pytest

from firmware_sim.build import make_firmware
from firmware_sim.faults import Endpoint, FaultPlan, FaultyEndpoint
from firmware_sim.loopback import LoopbackPort
from firmware_sim.runner import Runner
from hw.errors import HwError, MalformedReply, NotResponding, PinError, Unplugged
from hw.link import Link
from hw.protocol.commands import Cmd, SetTimeRequest
from hw.protocol.framing import FrameDecoder, encode_frame
from hw.token import SerialToken
from tokens.clock import ManualClock
from tokens.otp import encode_secret

from .conftest import PIN, START

TOTP_SEED = bytes(range(1, 21))
HOTP_SEED = bytes(range(101, 121))
CALLS = 24
TIMEOUT, RETRIES = 0.08, 4
BOUND = TIMEOUT * (RETRIES + 1) + 1.0  # seconds one call may take, scheduling slack included

PLANS = {
    "corrupt": FaultPlan(corrupt=0.25, seed=1),
    "drop": FaultPlan(drop=0.25, seed=2),
    "garbage": FaultPlan(garbage=0.6, seed=3),
    "latency-retry": FaultPlan(latency=0.12, latency_prob=0.5, seed=4),  # late replies arrive after a retry
    "latency-too-slow": FaultPlan(latency=0.6, seed=5),
    "mixed": FaultPlan(corrupt=0.1, drop=0.1, garbage=0.2, latency=0.1, latency_prob=0.2, seed=6),
    "unplug": FaultPlan(unplug=0.2, seed=7),
}


@pytest.mark.parametrize("name", list(PLANS))
def test_faults_give_retry_or_typed_error(name: str, serve: Callable[[Endpoint], Runner]) -> None:
    clock = ManualClock(START)
    fw = make_firmware(reference=clock, pin=PIN)
    setup = SerialToken(LoopbackPort(fw), pin=PIN)  # provision over a clean line first
    setup.provision(0, TOTP_SEED)
    setup.provision(1, HOTP_SEED, type="hotp")
    faulty = FaultyEndpoint(fw, PLANS[name])
    runner = serve(faulty)
    totp, hotp = pyotp.TOTP(encode_secret(TOTP_SEED)), pyotp.HOTP(encode_secret(HOTP_SEED))

    tok: SerialToken | None = None
    ok = errors = 0
    hotp_counters: list[int] = []
    hotp_calls = 0
    calls = 3 if name == "latency-too-slow" else CALLS  # each of those calls times out fully
    for i in range(calls):
        t0 = time.monotonic()
        try:
            if tok is None:
                tok = SerialToken.open(runner.url, pin=PIN, timeout=TIMEOUT, retries=RETRIES)
            slot = i % 2
            hotp_calls += slot
            r = tok.get_code(slot)
        except (NotResponding, Unplugged) as e:
            errors += 1
            assert isinstance(e, HwError) and str(e)
            if isinstance(e, Unplugged):
                assert name == "unplug"
                break  # the cable is out: the line is gone for good
            continue
        finally:
            assert time.monotonic() - t0 < BOUND * 2  # opening = INFO + GET_CODE at most
        ok += 1
        assert r.slot == slot
        if slot == 0:
            assert r.code == totp.at(r.time_ms / 1000) and r.time_ms == int(clock.now() * 1000)
        else:
            assert r.code == hotp.at(r.counter)
            hotp_counters.append(r.counter)
        clock.advance(7)
    if tok is not None:
        tok.close()

    assert hotp_counters == sorted(set(hotp_counters))  # strictly increasing
    # a retried GET_CODE is answered from the device's cache, never run twice
    assert not hotp_counters or hotp_counters[-1] < hotp_calls
    assert faulty.events, "the fault plan never fired"
    if name == "latency-too-slow":
        assert ok == 0 and errors > 0
    elif name == "unplug":
        assert faulty.events.get("unplug") == 1 and errors >= 1
    else:
        assert ok >= CALLS // 2, f"{name}: only {ok} of {CALLS} calls succeeded (events {faulty.events})"


class LoseReplies:
    """Runs every request but loses the first ``n`` replies: the device did the work, the host saw nothing."""

    def __init__(self, inner: Endpoint, n: int) -> None:
        self.inner, self.n = inner, n

    def feed(self, data: bytes) -> bytes:
        out = self.inner.feed(data)
        if self.n and out:
            self.n -= 1
            return b""
        return out

    def poll(self) -> bytes:
        return self.inner.poll()

    def wakeup(self) -> float | None:
        return self.inner.wakeup()


def test_retries_do_not_burn_pin_attempts() -> None:
    """A wrong-PIN SET_TIME whose replies get lost is retried and answered from the cache."""
    fw = make_firmware(reference=ManualClock(START), pin=PIN, pin_retries=5)
    link = Link(LoopbackPort(LoseReplies(fw, 2), timeout=0.01), timeout=0.01, retries=3)
    with pytest.raises(PinError) as e:
        link.transact(Cmd.SET_TIME, SetTimeRequest(int(START * 1000), b"0000").to_bytes())
    assert e.value.retries_left == 4 and link.stats["retries"] == 2
    assert SerialToken(LoopbackPort(fw), pin=PIN).get_info().pin_retries == 4


class WrongSlot:
    """A confused device: every GET_CODE reply claims to come from slot 0."""

    def __init__(self, inner: Endpoint) -> None:
        self.inner = inner

    def _rewrite(self, out: bytes) -> bytes:
        fixed = b""
        for body in FrameDecoder().feed(out):
            if body[2] == Cmd.GET_CODE | 0x80 and body[3] == 0:
                body = body[:4] + b"\x00" + body[5:]
            fixed += encode_frame(body)
        return fixed

    def feed(self, data: bytes) -> bytes:
        return self._rewrite(self.inner.feed(data))

    def poll(self) -> bytes:
        return self._rewrite(self.inner.poll())

    def wakeup(self) -> float | None:
        return self.inner.wakeup()


def test_a_reply_for_another_slot_is_refused() -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN)
    tok = SerialToken(LoopbackPort(WrongSlot(fw)), pin=PIN)
    tok.provision(0, TOTP_SEED)
    tok.provision(1, HOTP_SEED, type="hotp")
    assert tok.get_code(0).slot == 0
    with pytest.raises(MalformedReply, match="slot 1 answered for slot 0"):
        tok.get_code(1)
