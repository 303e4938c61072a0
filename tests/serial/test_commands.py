"""Command layer records: byte layouts from docs/serial-protocol.md §4, parse/to_bytes round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hw.errors import PinError, ProtocolError, SlotEmptyError, TimeNotSetError, error_for
from hw.protocol.commands import (
    Capabilities,
    CodeReply,
    DeviceState,
    HashAlg,
    InfoReply,
    PayloadError,
    Request,
    Response,
    SetTimeRequest,
    SlotConfig,
    SlotInfo,
    SlotType,
    Status,
    TimeReply,
)
from tokens.errors import DeviceError, DeviceNotEnrolledError

u8, u16, u64 = st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 2**64 - 1)
text = st.text(max_size=40).filter(lambda s: len(s.encode()) <= 255)


@given(u8, st.integers(0, 0x7F), st.binary(max_size=100))
def test_request_response_round_trip(seq: int, cmd: int, payload: bytes) -> None:
    assert Request.parse(Request(seq, cmd, payload).to_bytes()) == Request(seq, cmd, payload)
    r = Response(seq, cmd, 0x21, payload)
    assert Response.parse(r.to_bytes()) == r
    with pytest.raises(PayloadError):
        Request.parse(r.to_bytes())  # bit 7 set: not a request
    with pytest.raises(PayloadError):
        Response.parse(Request(seq, cmd, payload).to_bytes())


@given(st.builds(InfoReply, u8, u8, u8, st.builds(Capabilities, st.integers(0, 0x7F)),
                 st.builds(DeviceState, st.integers(0, 0x1F)), u8, text, text, text))
def test_info_round_trip(info: InfoReply) -> None:
    assert InfoReply.parse(info.to_bytes()) == info


def test_info_layout() -> None:
    b = InfoReply(1, 250, 4, Capabilities.TOTP | Capabilities.PIN, DeviceState.TIME_VALID, 5, "M", "1.0",
                  "TS1").to_bytes()
    assert b == bytes([1, 250, 4, 0x00, 0x11, 0x01, 5, 1]) + b"M" + b"\x031.0" + b"\x03TS1"


@given(st.builds(SlotConfig, u8, st.sampled_from(SlotType), st.sampled_from(HashAlg), u8, u16, u64,
                 st.binary(max_size=64), st.binary(max_size=16)))
def test_slot_config_round_trip(cfg: SlotConfig) -> None:
    assert SlotConfig.parse(cfg.to_bytes()) == cfg


def test_provision_layout() -> None:
    b = SlotConfig(2, SlotType.HOTP, HashAlg.SHA256, 8, 0, 7, b"S" * 10, b"1234").to_bytes()
    assert b == bytes([2, 2, 2, 8, 0, 0]) + (7).to_bytes(8, "big") + b"\x0a" + b"S" * 10 + b"\x041234"


@given(u8, st.sampled_from(SlotType), u64, u64, st.text("0123456789", min_size=6, max_size=8))
def test_code_reply_round_trip(slot: int, typ: SlotType, counter: int, t: int, code: str) -> None:
    r = CodeReply(slot, typ, counter, t, code)
    assert CodeReply.parse(r.to_bytes()) == r


@given(u64, st.binary(max_size=16), st.booleans())
def test_time_records_round_trip(t: int, pin: bytes, force: bool) -> None:
    assert SetTimeRequest.parse(SetTimeRequest(t, pin, force).to_bytes()) == SetTimeRequest(t, pin, force)
    assert TimeReply.parse(TimeReply(DeviceState.TIME_VALID, t).to_bytes()).time_ms == t


def test_slot_list_round_trip() -> None:
    items = [SlotInfo(0, False), SlotInfo(1, True, 1, 3, 8, 60), SlotInfo(2, True, 2, 1, 6, 0)]
    data = SlotInfo.list_to_bytes(items)
    assert len(data) == 1 + 7 * 3
    assert SlotInfo.parse_list(data) == items
    assert items[1].to_dict() == {"slot": 1, "provisioned": True, "type": "totp", "algorithm": "SHA512",
                                  "digits": 8, "period": 60}


@pytest.mark.parametrize("bad", [b"", b"\x01", b"\x01\x02" + b"\x00" * 20])
def test_truncated_or_padded_payloads_raise(bad: bytes) -> None:
    for rec in (InfoReply, TimeReply, SlotConfig, CodeReply, SetTimeRequest):
        with pytest.raises(PayloadError):
            rec.parse(bad)  # type: ignore[attr-defined]


def test_code_reply_rejects_non_digits() -> None:
    good = CodeReply(0, SlotType.TOTP, 1, 2, "123456").to_bytes()
    with pytest.raises(PayloadError):
        CodeReply.parse(good[:-1] + b"x")


def test_error_mapping_keeps_the_device_code() -> None:
    e = error_for(0x30, b"\x02", "PROVISION")
    assert isinstance(e, PinError) and e.retries_left == 2 and e.code == 0x30
    assert "PROVISION" in str(e) and "2 attempt(s) left" in str(e)
    assert isinstance(error_for(0x21), SlotEmptyError) and isinstance(error_for(0x21), DeviceNotEnrolledError)
    assert isinstance(error_for(0x40), TimeNotSetError)
    unknown = error_for(0x99)
    assert type(unknown) is ProtocolError and unknown.status == Status.UNKNOWN and unknown.code == 0x99
    assert "0x99" in str(unknown) and isinstance(unknown, DeviceError)
