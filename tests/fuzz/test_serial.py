"""Adversarial: the serial wire format and the simulated token's firmware.

Every entry point gets arbitrary bytes and, separately, well-formed frames carrying extreme values:
the framing decoder (COBS + CRC), each command payload parser, and ``Firmware.feed``.  The answer
is always "a typed error or a valid answer": ``FrameError``/``PayloadError`` from the parsers, and
from the firmware well-formed reply frames only — it never raises, and never has to fall back to
ERR_INTERNAL (``internal_errors`` stays 0).  The time limit of each test bounds hangs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim.build import make_firmware
from firmware_sim.firmware import Firmware
from hw.protocol import framing
from hw.protocol.commands import (
    MAX_PIN,
    RESET_MAGIC,
    U64_MAX,
    Cmd,
    CodeReply,
    InfoReply,
    PayloadError,
    Request,
    Response,
    SetTimeRequest,
    SlotConfig,
    SlotInfo,
    Status,
    TimeReply,
    parse_pin_payload,
)
from tokens.clock import ManualClock

from ._settings import FUZZ

pytestmark = pytest.mark.timeout(120)

PIN = b"246810"
START = 1_767_225_600.0
KNOWN = set(Status) - {Status.UNKNOWN}


def firmware(button: bool = False) -> Firmware:
    return make_firmware(serial="TSFUZZ", reference=ManualClock(START), pin=PIN, slots=4, button=button)


def replies(out: bytes) -> list[Response]:
    """Every frame the firmware sent must be a well-formed response with a known status."""
    dec = framing.FrameDecoder()
    bodies = dec.feed(out)
    assert dec.errors == 0
    rs = [Response.parse(b) for b in bodies]
    for r in rs:
        assert r.status in KNOWN, r
    return rs


# ----------------------------------------------------------------------------- framing


@FUZZ
@given(st.binary(max_size=600))
def test_cobs_decode_arbitrary_bytes(data: bytes) -> None:
    try:
        out = framing.cobs_decode(data)
    except framing.FrameError:
        return
    assert framing.cobs_encode(out) == data or 0 not in data


@FUZZ
@given(st.binary(max_size=600))
def test_cobs_round_trip(data: bytes) -> None:
    enc = framing.cobs_encode(data)
    assert 0 not in enc and framing.cobs_decode(enc) == data


@FUZZ
@given(st.binary(max_size=600))
def test_decode_frame_arbitrary_bytes(data: bytes) -> None:
    try:
        body = framing.decode_frame(data)
    except framing.FrameError:
        return
    assert len(body) <= framing.MAX_FRAME and framing.encode_frame(body)[1:-1] == data


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=300),
                          st.binary(max_size=framing.MAX_FRAME).map(framing.encode_frame)), max_size=10))
def test_frame_decoder_takes_any_chunks(chunks: list[bytes]) -> None:
    dec = framing.FrameDecoder()
    for c in chunks:
        for body in dec.feed(c):
            assert len(body) <= framing.MAX_FRAME


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=framing.MAX_FRAME), min_size=1, max_size=5), st.data())
def test_frame_decoder_recovers_frames_split_anywhere(bodies: list[bytes], data: st.DataObject) -> None:
    wire = b"".join(framing.encode_frame(b) for b in bodies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    dec = framing.FrameDecoder()
    got: list[bytes] = []
    for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        got += dec.feed(wire[a:b])
    assert got == bodies and dec.errors == 0


# ----------------------------------------------------------------------------- payload parsers

PARSERS: dict[str, Callable[[bytes], object]] = {
    "Request": Request.parse, "Response": Response.parse, "InfoReply": InfoReply.parse,
    "TimeReply": TimeReply.parse, "SetTimeRequest": SetTimeRequest.parse, "SlotConfig": SlotConfig.parse,
    "CodeReply": CodeReply.parse, "SlotInfo.parse_list": SlotInfo.parse_list,
    "pin_payload": parse_pin_payload,
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(data=st.binary(max_size=300))
def test_payload_parsers_raise_only_payload_error(name: str, data: bytes) -> None:
    try:
        rec = PARSERS[name](data)
    except PayloadError:
        return
    if isinstance(rec, list):  # LIST_SLOTS entries describe themselves without raising
        for s in rec:
            assert isinstance(s, SlotInfo) and isinstance(s.to_dict(), dict)


@FUZZ
@given(st.binary(max_size=300))
def test_parsed_records_serialise_back_to_the_same_bytes(data: bytes) -> None:
    for parse in (TimeReply.parse, SetTimeRequest.parse, CodeReply.parse, InfoReply.parse):
        try:
            rec = parse(data)
        except PayloadError:
            continue
        # SetTimeRequest keeps only the FORCE bit of its flags byte
        if isinstance(rec, SetTimeRequest):
            assert rec.to_bytes()[1:] == data[1:]
        else:
            assert rec.to_bytes() == data


# ----------------------------------------------------------------------------- firmware: raw bytes


@FUZZ
@given(st.lists(st.binary(max_size=400), max_size=8))
def test_firmware_feed_arbitrary_bytes(chunks: list[bytes]) -> None:
    fw = firmware()
    for c in chunks:
        replies(fw.feed(c))
    assert fw.internal_errors == 0
    [r] = replies(fw.feed(framing.encode_frame(Request(0xEE, Cmd.INFO).to_bytes())))
    assert r.status == Status.OK  # still serving


# ----------------------------------------------------------------------------- firmware: valid frames

u64 = st.one_of(st.integers(0, U64_MAX), st.sampled_from([0, 1, U64_MAX, U64_MAX - 1, 2**63, 2**53 + 1]))
u8 = st.integers(0, 255)
pins = st.one_of(st.just(PIN), st.binary(max_size=MAX_PIN + 2))


def _set_time() -> st.SearchStrategy[bytes]:
    return st.builds(lambda t, pin, force: SetTimeRequest(t, pin, force).to_bytes(), u64, pins, st.booleans())


def _provision() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda slot, typ, alg, digits, period, counter, seed, pin: bytes((slot, typ, alg, digits))
        + period.to_bytes(2, "big") + counter.to_bytes(8, "big") + bytes((len(seed),)) + seed
        + bytes((len(pin),)) + pin,
        st.one_of(st.integers(0, 4), u8), st.one_of(st.sampled_from([1, 2]), u8),
        st.one_of(st.sampled_from([1, 2, 3]), u8), st.one_of(st.sampled_from([6, 7, 8]), u8),
        st.one_of(st.sampled_from([0, 1, 30, 3600, 65535]), st.integers(0, 65535)), u64,
        st.binary(min_size=0, max_size=70), pins)


def _request() -> st.SearchStrategy[tuple[int, bytes]]:
    return st.one_of(
        st.tuples(st.just(Cmd.SET_TIME), _set_time()),
        st.tuples(st.just(Cmd.PROVISION), _provision()),
        st.tuples(st.just(Cmd.GET_CODE), st.one_of(st.integers(0, 5), u8).map(lambda s: bytes((s,)))),
        st.tuples(st.sampled_from([Cmd.INFO, Cmd.GET_TIME, Cmd.LIST_SLOTS]), st.just(b"")),
        st.tuples(st.just(Cmd.LOCK), pins.map(lambda p: bytes((len(p),)) + p)),
        st.tuples(st.just(Cmd.FACTORY_RESET), st.one_of(st.just(RESET_MAGIC), st.binary(max_size=8))),
        st.tuples(u8.filter(lambda c: not c & 0x80), st.binary(max_size=40)),
    )


# what the reference clock does between two commands: nothing, a step, a leap, an absurd value
_clock_moves = st.one_of(st.just(0.0), st.floats(0, 120), st.floats(0, 1e12),
                         st.sampled_from([1e17, 1e300, float("inf")]))


@FUZZ
@given(st.lists(st.tuples(_request(), _clock_moves, st.booleans()), min_size=1, max_size=12),
       st.booleans())
def test_firmware_valid_frames_with_extreme_values(steps: list[tuple[tuple[int, bytes], float, bool]],
                                                   button: bool) -> None:
    fw = firmware(button)
    clock = fw.rtc.clock.reference
    assert isinstance(clock, ManualClock)
    for seq, ((cmd, payload), move, press) in enumerate(steps):
        clock.set(clock.now() + move)
        body = Request(seq, cmd, payload).to_bytes()
        if len(body) > framing.MAX_FRAME:
            continue
        rs = replies(fw.feed(framing.encode_frame(body)))
        if press:
            fw.press_button()
        rs += replies(fw.poll())
        for r in rs:
            assert (r.seq, r.cmd) == (seq, cmd)
    assert fw.internal_errors == 0
