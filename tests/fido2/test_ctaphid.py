"""CTAPHID framing and the channel state machine, driven packet by packet (no sockets)."""

from __future__ import annotations

import struct
import threading
import time

import pytest
from fido2 import cbor
from fido2.ctap import STATUS
from fido2.hid import CTAPHID

from tokens.clock import ManualClock
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice, WaitThenTimeout
from tokens.fido2.transport.ctaphid import BROADCAST, MAX_MESSAGE, CtapHidServer, HidError, fragment


class Wire:
    """Collects the server's reports and reassembles messages per channel."""

    def __init__(self) -> None:
        self.packets: list[bytes] = []
        self.cond = threading.Condition()

    def send(self, pkt: bytes) -> None:
        with self.cond:
            self.packets.append(pkt)
            self.cond.notify_all()

    def message(self, timeout: float = 5.0) -> tuple[int, int, bytes]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                msg = self._take()
                if msg is not None:
                    return msg
                left = deadline - time.monotonic()
                assert left > 0, "no reply"
                self.cond.wait(left)

    def _take(self) -> tuple[int, int, bytes] | None:
        if not self.packets:
            return None
        cid, cmd, length = struct.unpack_from(">IBH", self.packets[0])
        data = self.packets[0][7:]
        n = 1
        while len(data) < length:
            if n >= len(self.packets):
                return None
            data += self.packets[n][5:]
            n += 1
        del self.packets[:n]
        return cid, cmd & 0x7F, data[:length]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(0.0)


@pytest.fixture
def rig(clock: ManualClock) -> tuple[CtapHidServer, Wire, Authenticator]:
    wire = Wire()
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    server = CtapHidServer(SoftCtapDevice(a), wire.send, clock=clock, msg_timeout=0.5)
    yield server, wire, a  # type: ignore[misc]
    server.close()


def feed(server: CtapHidServer, cid: int, cmd: int, data: bytes) -> None:
    for pkt in fragment(cid, cmd, data):
        server.feed(pkt)


def open_channel(server: CtapHidServer, wire: Wire) -> int:
    feed(server, BROADCAST, CTAPHID.INIT, b"12345678")
    cid, cmd, data = wire.message()
    assert (cid, cmd, data[:8]) == (BROADCAST, CTAPHID.INIT, b"12345678")
    new, version = struct.unpack_from(">IB", data, 8)
    assert version == 2 and data[16] & 0x04  # CBOR capability
    return int(new)


def test_fragment_sizes() -> None:
    pkts = list(fragment(7, CTAPHID.PING, bytes(range(200))))
    assert len(pkts) == 4 and all(len(p) == 64 for p in pkts)
    assert [p[4] for p in pkts[1:]] == [0, 1, 2]
    assert len(list(fragment(7, CTAPHID.PING, b""))) == 1
    with pytest.raises(ValueError):
        list(fragment(7, CTAPHID.PING, b"x" * (MAX_MESSAGE + 1)))


def test_init_ping_wink(rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    server, wire, _ = rig
    cid = open_channel(server, wire)
    other = open_channel(server, wire)
    assert cid != other
    payload = bytes(range(256)) * 3
    feed(server, cid, CTAPHID.PING, payload)
    assert wire.message() == (cid, CTAPHID.PING, payload)
    feed(server, cid, CTAPHID.WINK, b"")
    assert wire.message() == (cid, CTAPHID.WINK, b"") and server.winks == 1


def test_cbor_request_reply(rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    server, wire, a = rig
    cid = open_channel(server, wire)
    feed(server, cid, CTAPHID.CBOR, b"\x04")
    rcid, cmd, data = wire.message()
    assert (rcid, cmd, data[0]) == (cid, CTAPHID.CBOR, 0)
    assert cbor.decode(data[1:])[3] == a.state.aaguid


@pytest.mark.parametrize("cid", [0, BROADCAST, 0x1234])
def test_invalid_channel(rig: tuple[CtapHidServer, Wire, Authenticator], cid: int) -> None:
    server, wire, _ = rig
    feed(server, cid, CTAPHID.PING, b"x")
    assert wire.message() == (cid, CTAPHID.ERROR, bytes([HidError.INVALID_CHANNEL]))


def test_invalid_command_and_init_length(rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    server, wire, _ = rig
    cid = open_channel(server, wire)
    feed(server, cid, 0x33, b"")
    assert wire.message() == (cid, CTAPHID.ERROR, bytes([HidError.INVALID_COMMAND]))
    feed(server, BROADCAST, CTAPHID.INIT, b"1234")
    assert wire.message() == (BROADCAST, CTAPHID.ERROR, bytes([HidError.INVALID_LENGTH]))


def test_wrong_sequence(rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    server, wire, _ = rig
    cid = open_channel(server, wire)
    pkts = list(fragment(cid, CTAPHID.PING, b"y" * 150))
    server.feed(pkts[0])
    server.feed(pkts[2])  # skips seq 0
    assert wire.message() == (cid, CTAPHID.ERROR, bytes([HidError.INVALID_SEQ]))


def test_message_timeout(rig: tuple[CtapHidServer, Wire, Authenticator], clock: ManualClock) -> None:
    server, wire, _ = rig
    cid = open_channel(server, wire)
    server.feed(next(fragment(cid, CTAPHID.PING, b"z" * 100)))
    clock.advance(0.6)
    server.tick()
    assert wire.message() == (cid, CTAPHID.ERROR, bytes([HidError.TIMEOUT]))


def test_other_channel_is_busy_during_assembly(rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    server, wire, _ = rig
    a, b = open_channel(server, wire), open_channel(server, wire)
    pkts = list(fragment(a, CTAPHID.PING, b"q" * 100))
    server.feed(pkts[0])
    feed(server, b, CTAPHID.PING, b"hi")
    assert wire.message() == (b, CTAPHID.ERROR, bytes([HidError.CHANNEL_BUSY]))
    server.feed(pkts[1])
    assert wire.message() == (a, CTAPHID.PING, b"q" * 100)


def test_keepalive_busy_and_cancel(rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    server, wire, a = rig
    a.presence = WaitThenTimeout(timeout=10.0, interval=0.02)
    cid, other = open_channel(server, wire), open_channel(server, wire)
    mc = b"\x01" + cbor.encode({1: b"\x00" * 32, 2: {"id": "example.com"}, 3: {"id": b"u"},
                                4: [{"type": "public-key", "alg": -7}]})
    feed(server, cid, CTAPHID.CBOR, mc)
    assert wire.message() == (cid, CTAPHID.KEEPALIVE, bytes([STATUS.UPNEEDED]))
    feed(server, other, CTAPHID.PING, b"hello")
    while True:  # keepalives keep coming; the other channel is told it is busy
        msg = wire.message()
        if msg[0] == other:
            assert msg == (other, CTAPHID.ERROR, bytes([HidError.CHANNEL_BUSY]))
            break
        assert msg == (cid, CTAPHID.KEEPALIVE, bytes([STATUS.UPNEEDED]))
    server.feed(struct.pack(">IB", cid, 0x80 | CTAPHID.CANCEL).ljust(64, b"\0"))
    while True:
        msg = wire.message()
        if msg[1] == CTAPHID.CBOR:
            assert msg == (cid, CTAPHID.CBOR, b"\x2d")  # CTAP2_ERR_KEEPALIVE_CANCEL
            break
        assert msg[1] == CTAPHID.KEEPALIVE


def test_vendor_power_cycle_and_unknown_vendor_command(
        rig: tuple[CtapHidServer, Wire, Authenticator]) -> None:
    from tokens.fido2.softdevice import VENDOR_POWER_CYCLE

    server, wire, a = rig
    a.pin.consecutive_fails = 3  # PIN_AUTH_BLOCKED ...
    cid = open_channel(server, wire)
    feed(server, cid, VENDOR_POWER_CYCLE, b"")
    assert wire.message() == (cid, VENDOR_POWER_CYCLE, b"")
    assert a.pin.consecutive_fails == 0  # ... cleared by the simulated replug
    feed(server, cid, 0x55, b"")
    assert wire.message() == (cid, CTAPHID.ERROR, bytes([HidError.INVALID_COMMAND]))
