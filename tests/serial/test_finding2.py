"""Issue 19, finding 2: a valid frame must never kill the serial simulator.

SET_TIME to 2**64-1 ms followed by GET_TIME/GET_CODE, and an HOTP slot provisioned at counter
2**64-1 read twice, used to raise out of ``Firmware.feed`` (struct.error / InputError) and end
``tokensim sim serve``.  Now the firmware answers with an error status and keeps serving.
"""

from __future__ import annotations

import struct

import pyotp
import pytest

from firmware_sim.build import make_firmware
from firmware_sim.errors import SimConfigError
from firmware_sim.firmware import Firmware, FirmwareConfig
from hw.errors import ProtocolError
from hw.protocol import framing
from hw.protocol.commands import (
    MAX_TIME_MS,
    U64_MAX,
    Cmd,
    CodeReply,
    HashAlg,
    Request,
    Response,
    SetTimeRequest,
    SlotConfig,
    SlotType,
    Status,
    TimeReply,
)
from tokens.clock import ManualClock
from tokens.otp import encode_secret

from .conftest import PIN, START
from .test_firmware import raw, token

SEED = bytes(range(1, 21))


def _set_time(fw: Firmware, seq: int, ms: int, force: bool = True) -> Response:
    [r] = raw(fw, seq, Cmd.SET_TIME, SetTimeRequest(ms, PIN.encode(), force).to_bytes())
    return r


def _alive(fw: Firmware) -> None:
    [r] = raw(fw, 200, Cmd.INFO)
    assert r.status == Status.OK


def test_finding2_set_time_max_does_not_kill_firmware() -> None:
    fw = make_firmware(serial="TSF2", reference=ManualClock(START), pin=PIN)
    assert token(fw).provision(0, SEED) is None
    before = fw.rtc.now()
    assert _set_time(fw, 1, U64_MAX).status == Status.ERR_BAD_PARAM
    assert _set_time(fw, 2, MAX_TIME_MS + 1).status == Status.ERR_BAD_PARAM
    assert fw.rtc.now() == before  # refused: the clock did not move
    [t] = raw(fw, 3, Cmd.GET_TIME)
    assert t.status == Status.OK and TimeReply.parse(t.payload).time_ms == int(START * 1000)
    [c] = raw(fw, 4, Cmd.GET_CODE, b"\x00")
    assert c.status == Status.OK
    _alive(fw)
    assert fw.internal_errors == 0


def test_finding2_set_time_latest_allowed_value_reads_back() -> None:
    fw = make_firmware(serial="TSF2", reference=ManualClock(START), pin=PIN)
    token(fw).provision(0, SEED, period=1)
    assert _set_time(fw, 1, MAX_TIME_MS).status == Status.OK
    [t] = raw(fw, 2, Cmd.GET_TIME)
    ms = TimeReply.parse(t.payload).time_ms
    assert abs(ms - MAX_TIME_MS) <= 4  # float seconds keep ~2 ms at year 9999
    [c] = raw(fw, 3, Cmd.GET_CODE, b"\x00")
    reply = CodeReply.parse(c.payload)
    assert reply.code == pyotp.TOTP(encode_secret(SEED), interval=1).at(reply.time_ms / 1000)
    assert fw.internal_errors == 0


@pytest.mark.parametrize("huge", [1e17, 1e300, float("inf"), float("nan")])
def test_finding2_device_time_saturates_instead_of_overflowing(huge: float) -> None:
    """The reference clock itself far in the future: GET_TIME saturates at 2**64-1 ms."""
    clock = ManualClock(START)
    fw = make_firmware(serial="TSF2", reference=clock, pin=PIN)
    clock.set(huge)
    [t] = raw(fw, 1, Cmd.GET_TIME)
    assert t.status == Status.OK
    assert TimeReply.parse(t.payload).time_ms == (0 if huge != huge else U64_MAX)
    _alive(fw)
    assert fw.internal_errors == 0


def test_finding2_hotp_counter_max_read_twice_answers_exhausted() -> None:
    fw = make_firmware(serial="TSF2", reference=ManualClock(START), pin=PIN)
    cfg = SlotConfig(0, SlotType.HOTP, HashAlg.SHA1, 6, 0, U64_MAX, SEED, PIN.encode())
    [p] = raw(fw, 1, Cmd.PROVISION, cfg.to_bytes())
    assert p.status == Status.OK
    [first] = raw(fw, 2, Cmd.GET_CODE, b"\x00")
    reply = CodeReply.parse(first.payload)
    assert (reply.counter, reply.code) == (U64_MAX, pyotp.HOTP(encode_secret(SEED)).at(U64_MAX))
    for seq in (3, 4):  # and it stays exhausted: the counter never wraps to reuse old codes
        [second] = raw(fw, seq, Cmd.GET_CODE, b"\x00")
        assert second.status == Status.ERR_COUNTER_EXHAUSTED
    _alive(fw)
    assert fw.internal_errors == 0


def test_finding2_hotp_exhausted_is_a_protocol_error_on_the_host() -> None:
    fw = make_firmware(serial="TSF2", reference=ManualClock(START), pin=PIN)
    tok = token(fw)
    tok.provision(1, SEED, type="hotp", counter=U64_MAX)
    assert tok.get_code(1).counter == U64_MAX
    with pytest.raises(ProtocolError, match="last counter value") as e:
        tok.get_code(1)
    assert e.value.status == Status.ERR_COUNTER_EXHAUSTED
    tok.provision(1, SEED, type="hotp", counter=0)  # provisioning again revives the slot
    assert tok.get_code(1).counter == 0


def test_finding2_handler_bug_is_answered_internal_error_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: an unexpected exception in a handler becomes ERR_INTERNAL."""
    fw = make_firmware(serial="TSF2", reference=ManualClock(START), pin=PIN)

    def broken(req: Request) -> bytes:
        raise struct.error("boom")

    monkeypatch.setitem(fw._handlers, Cmd.GET_TIME, broken)
    [r] = raw(fw, 1, Cmd.GET_TIME)
    assert r.status == Status.ERR_INTERNAL and fw.internal_errors == 1
    _alive(fw)


def test_finding2_info_reply_always_fits_a_frame() -> None:
    with pytest.raises(SimConfigError, match="too long"):
        FirmwareConfig(serial="S" * 200, model="M" * 40)
    fw = make_firmware(serial="S" * 100, reference=ManualClock(START), pin=PIN)
    out = fw.feed(framing.encode_frame(Request(1, Cmd.INFO).to_bytes()))
    assert [Response.parse(b).status for b in framing.FrameDecoder().feed(out)] == [Status.OK]


def test_finding2_served_simulator_keeps_serving(serve: object, open_token: object, fw: Firmware) -> None:
    """End to end over a real pty and over TCP (what ``tokensim sim serve`` runs): the runner
    survives both attacks and keeps answering; the fixture fails if the runner died."""
    runner = serve(fw)  # type: ignore[operator]
    tok = open_token(runner.url)  # type: ignore[operator]
    with pytest.raises(ProtocolError) as e:
        tok.link.transact(Cmd.SET_TIME, SetTimeRequest(U64_MAX, PIN.encode(), True).to_bytes())
    assert e.value.status == Status.ERR_BAD_PARAM
    assert tok.get_time().time_ms == int(START * 1000)
    tok.provision(0, SEED, type="hotp", counter=U64_MAX)
    assert tok.get_code(0).counter == U64_MAX
    with pytest.raises(ProtocolError):
        tok.get_code(0)
    assert tok.get_info().serial == fw.serial and runner.error is None
