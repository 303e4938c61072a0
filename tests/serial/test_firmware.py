"""The firmware state machine, driven in-process through the driver (loopback port) and raw frames.

Codes are checked against pyotp at the device time the token reports, and that device time against
an independently computed drift (reference time · (1 + ppm·1e-6) + offset).
"""

from __future__ import annotations

import pyotp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.build import make_firmware
from firmware_sim.firmware import Firmware
from firmware_sim.loopback import LoopbackPort
from hw.errors import PinError, ProtocolError, SlotEmptyError, TimeNotSetError
from hw.protocol import framing
from hw.protocol.commands import (
    Cmd,
    CodeReply,
    DeviceState,
    HashAlg,
    Request,
    Response,
    SetTimeRequest,
    SlotConfig,
    SlotType,
    Status,
)
from hw.token import SerialToken
from tokens.clock import DriftModel, ManualClock
from tokens.otp import encode_secret

from .conftest import PIN, START

SEED = bytes(range(1, 21))
RFC_SEED = b"12345678901234567890"


def token(fw: Firmware, **kw: object) -> SerialToken:
    kw.setdefault("pin", PIN)
    return SerialToken(LoopbackPort(fw), **kw)  # type: ignore[arg-type]


def raw(fw: Firmware, seq: int, cmd: int, payload: bytes = b"") -> list[Response]:
    """Send one request frame, return every reply frame (bypassing the driver)."""
    out = fw.feed(framing.encode_frame(Request(seq, cmd, payload).to_bytes()))
    return [Response.parse(b) for b in framing.FrameDecoder().feed(out)]


def test_rfc6238_code_at_59s_over_the_wire() -> None:
    clock = ManualClock(59.0)
    fw = make_firmware(serial="TSRFC", reference=clock, pin=PIN)
    tok = token(fw)
    tok.provision(0, RFC_SEED, digits=8)
    r = tok.get_code(0)
    assert (r.code, r.counter, r.time_ms) == ("94287082", 1, 59000)


@pytest.mark.parametrize(("alg", "digits", "period"), [("SHA1", 6, 30), ("SHA256", 8, 60), ("SHA512", 7, 15)])
def test_drifting_token_codes_match_pyotp_at_device_time(alg: str, digits: int, period: int) -> None:
    clock = ManualClock(START)
    ppm, offset = 35.0, -4.0
    fw = make_firmware(reference=clock, drift=DriftModel(ppm=ppm, offset=offset, epoch=START), pin=PIN)
    tok = token(fw)
    tok.provision(2, SEED, algorithm=alg, digits=digits, period=period)
    ref = pyotp.TOTP(encode_secret(SEED), digits=digits, digest=alg.lower(), interval=period)
    for days in (0, 1, 30, 365):
        clock.set(START + days * 86400)
        r = tok.get_code(2)
        expected_dev = START + offset + (days * 86400) * (1 + ppm * 1e-6)
        assert r.time_ms / 1000 == pytest.approx(expected_dev, abs=0.002)
        assert r.counter == int(r.time_ms / 1000) // period
        assert r.code == ref.at(r.time_ms / 1000)


def test_hotp_counts_and_retry_is_idempotent() -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN)
    tok = token(fw)
    tok.provision(1, SEED, type="hotp", counter=5)
    hotp = pyotp.HOTP(encode_secret(SEED))
    assert [tok.get_code(1).code for _ in range(3)] == [hotp.at(5), hotp.at(6), hotp.at(7)]
    # the same frame twice (a host retry) is answered from the cache: the counter moves once
    seq = (tok.link._seq + 128) & 0xFF  # not the driver's last sequence number (the driver starts at random)
    frame = framing.encode_frame(Request(seq, Cmd.GET_CODE, b"\x01").to_bytes())
    first, again = fw.feed(frame), fw.feed(frame)
    assert first == again
    reply = CodeReply.parse(next(iter(framing.FrameDecoder().feed(first)))[4:])
    assert (reply.counter, reply.code) == (8, hotp.at(8))
    assert tok.get_code(1).counter == 9


def test_seed_is_never_readable_back() -> None:
    """Provision a recognisable seed, then run every command: no reply contains the seed bytes."""
    fw = make_firmware(reference=ManualClock(START), pin=PIN)
    seed = bytes(range(0xA0, 0xC0))  # 32 distinctive bytes
    tok = token(fw)
    tok.provision(0, seed, algorithm="SHA256")
    replies = b""
    for seq, cmd in enumerate(Cmd, start=1):
        payload = {Cmd.GET_CODE: b"\x00", Cmd.FACTORY_RESET: b"NOPE"}.get(cmd, b"")
        replies += fw.feed(framing.encode_frame(Request(seq, cmd, payload).to_bytes()))
    for cmd_byte in range(256):  # undocumented commands too
        replies += fw.feed(framing.encode_frame(Request(cmd_byte % 256, cmd_byte & 0x7F).to_bytes()))
    decoded = b"".join(framing.FrameDecoder().feed(replies))
    for i in range(len(seed) - 4):
        assert seed[i:i + 5] not in decoded
    assert all(not hasattr(tok, name) for name in ("read_seed", "get_seed", "export"))


def test_pin_retry_limit_blocks_until_factory_reset() -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN, pin_retries=3)
    tok = token(fw)
    with pytest.raises(PinError) as e1:
        tok.provision(0, SEED, pin="0000")
    assert e1.value.status == Status.ERR_PIN_WRONG and e1.value.retries_left == 2
    with pytest.raises(PinError) as e2:
        tok.set_time(START, pin="1111")
    assert e2.value.retries_left == 1
    with pytest.raises(PinError) as e3:
        tok.lock(pin="2222")
    assert e3.value.status == Status.ERR_PIN_BLOCKED
    with pytest.raises(PinError) as e4:  # even the right PIN is refused now
        tok.provision(0, SEED)
    assert e4.value.status == Status.ERR_PIN_BLOCKED
    assert tok.get_info().state & DeviceState.PIN_BLOCKED
    tok.factory_reset()
    assert tok.get_info().pin_retries == 3
    tok.provision(0, SEED)


def test_correct_pin_restores_attempts() -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN, pin_retries=3)
    tok = token(fw)
    for _ in range(2):
        with pytest.raises(PinError):
            tok.provision(0, SEED, pin="9999")
    tok.provision(0, SEED)
    assert tok.get_info().pin_retries == 3


def test_provisioning_lock() -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN)
    tok = token(fw)
    tok.provision(0, SEED)
    tok.lock()
    with pytest.raises(ProtocolError) as e:
        tok.provision(1, SEED)
    assert e.value.status == Status.ERR_LOCKED
    assert tok.get_code(0).code  # codes still work
    tok.factory_reset()
    assert not tok.get_info().state & DeviceState.LOCKED
    with pytest.raises(SlotEmptyError):
        tok.get_code(0)


def test_battery_death_and_recovery_via_set_time() -> None:
    clock = ManualClock(START)
    fw = make_firmware(reference=clock, pin=PIN, battery_life=86400.0)
    tok = token(fw)
    tok.provision(0, SEED)
    tok.provision(1, SEED, type="hotp")
    clock.advance(86400 * 0.95)
    assert tok.get_time().state & DeviceState.BATTERY_LOW
    clock.advance(86400 * 0.05)
    frozen = tok.get_time()
    assert frozen.state & DeviceState.CLOCK_STOPPED and not frozen.state & DeviceState.TIME_VALID
    clock.advance(3600)
    assert tok.get_time().time_ms == frozen.time_ms  # the clock stopped
    with pytest.raises(ProtocolError) as e:
        tok.get_code(0)
    assert e.value.status == Status.ERR_BATTERY
    with pytest.raises(ProtocolError) as e2:
        tok.set_time(clock.now())
    assert e2.value.status == Status.ERR_BATTERY
    assert tok.get_code(1).counter == 0  # HOTP runs from USB power

    fw.replace_battery()
    t = tok.get_time()
    assert t.time_ms < 1000 and not t.state & DeviceState.TIME_VALID  # restarted from 0
    with pytest.raises(TimeNotSetError):
        tok.get_code(0)
    clock.advance(10)
    before = tok.set_time(clock.now())  # backwards-refusal does not apply to an unset clock
    assert 9000 <= before.time_ms <= 11000
    r = tok.get_code(0)
    assert r.code == pyotp.TOTP(encode_secret(SEED)).at(clock.now())


def test_set_time_refuses_backwards_unless_forced() -> None:
    clock = ManualClock(START)
    fw = make_firmware(reference=clock, pin=PIN, offset=100.0)
    tok = token(fw)
    with pytest.raises(ProtocolError) as e:
        tok.set_time(START)
    assert e.value.status == Status.ERR_TIME_BACKWARDS
    before = tok.set_time(START, force=True)
    assert before.time_ms == (START + 100) * 1000
    assert tok.get_time().time_ms == START * 1000
    tok.set_time(START + 5)  # forwards is fine


def test_button_pending_press_and_timeout() -> None:
    clock = ManualClock(START)
    fw = make_firmware(reference=clock, pin=PIN, button=True, button_timeout=10.0)
    tok = token(fw)
    tok.provision(0, SEED)
    replies = raw(fw, 9, Cmd.GET_CODE, b"\x00")
    assert [r.status for r in replies] == [Status.PENDING]
    clock.advance(0.15)
    assert [Response.parse(b).status for b in framing.FrameDecoder().feed(fw.poll())] == [Status.PENDING]
    clock.advance(5)
    assert fw.press_button()
    final = [Response.parse(b) for b in framing.FrameDecoder().feed(fw.poll())]
    assert final[-1].status == Status.OK and final[-1].seq == 9
    assert CodeReply.parse(final[-1].payload).time_ms == (START + 5.15) * 1000  # computed at the press
    # no press: ERR_BUTTON_TIMEOUT once the timeout passes
    raw(fw, 10, Cmd.GET_CODE, b"\x00")
    clock.advance(10.01)
    out = [Response.parse(b) for b in framing.FrameDecoder().feed(fw.poll())]
    assert out[-1].status == Status.ERR_BUTTON_TIMEOUT
    assert not fw.press_button()


def test_request_errors() -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN, slots=2)
    assert raw(fw, 1, 0x6E)[0].status == Status.ERR_UNKNOWN_CMD
    assert raw(fw, 2, Cmd.GET_CODE, b"\x05")[0].status == Status.ERR_SLOT_RANGE
    assert raw(fw, 3, Cmd.GET_CODE, b"")[0].status == Status.ERR_BAD_LENGTH
    assert raw(fw, 4, Cmd.INFO, b"x")[0].status == Status.ERR_BAD_LENGTH
    assert raw(fw, 5, Cmd.FACTORY_RESET, b"reset")[0].status == Status.ERR_BAD_PARAM
    bad = SlotConfig(0, SlotType.TOTP, HashAlg.SHA1, 9, 30, 0, SEED, PIN.encode()).to_bytes()
    assert raw(fw, 6, Cmd.PROVISION, bad)[0].status == Status.ERR_BAD_PARAM
    bad_type = bytearray(SlotConfig(0, SlotType.TOTP, HashAlg.SHA1, 6, 30, 0, SEED, PIN.encode()).to_bytes())
    bad_type[1] = 9
    assert raw(fw, 7, Cmd.PROVISION, bytes(bad_type))[0].status == Status.ERR_BAD_PARAM
    wrong_version = framing.encode_frame(b"\x02\x08\x01")
    reply = Response.parse(next(iter(framing.FrameDecoder().feed(fw.feed(wrong_version)))))
    assert reply.status == Status.ERR_BAD_VERSION and reply.payload == b"\x01"
    st_ = SetTimeRequest(0, PIN.encode()).to_bytes()[:-2]
    assert raw(fw, 9, Cmd.SET_TIME, st_)[0].status == Status.ERR_BAD_LENGTH


def _frames_strategy() -> st.SearchStrategy[bytes]:
    body = st.one_of(
        st.binary(max_size=framing.MAX_FRAME),
        st.builds(lambda seq, cmd, p: bytes((1, seq, cmd)) + p, st.integers(0, 255), st.integers(0, 255),
                  st.binary(max_size=80)),
    )
    return st.one_of(st.binary(max_size=600), body.map(framing.encode_frame))


@settings(max_examples=200)
@given(st.lists(_frames_strategy(), max_size=8))
def test_fuzzed_input_never_crashes_and_replies_are_well_formed(chunks: list[bytes]) -> None:
    fw = make_firmware(reference=ManualClock(START), pin=PIN, slots=2)
    fw.feed(framing.encode_frame(Request(1, Cmd.PROVISION, SlotConfig(
        0, SlotType.TOTP, HashAlg.SHA1, 6, 30, 0, SEED, PIN.encode()).to_bytes()).to_bytes()))
    for c in chunks:
        out = fw.feed(c) + fw.poll()
        for body in framing.FrameDecoder().feed(out):
            r = Response.parse(body)
            assert r.status in set(Status) - {Status.UNKNOWN}
    # still alive and sane afterwards
    tok = token(fw)
    assert tok.get_info().serial == fw.serial
    assert tok.get_code(0).code == pyotp.TOTP(encode_secret(SEED)).at(START)
