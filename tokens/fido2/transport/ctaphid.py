"""CTAPHID framing and the authenticator-side channel state machine (FIDO CTAP 2.1 §11.2).

Wire format (64-byte reports)::

    init packet          CID (4) | 0x80|CMD (1) | BCNT (2, big-endian) | data (57)
    continuation packet  CID (4) | SEQ 0..127 (1)                     | data (59)

:class:`CtapHidServer` is transport-agnostic: a transport feeds it every received report with
:meth:`feed`, calls :meth:`tick` now and then (for the message timeout), and gives it a ``send``
function for outgoing reports.  It allocates channels (INIT), answers PING / WINK itself, refuses
other channels with ERR_CHANNEL_BUSY while a command runs, reassembles fragmented requests
(ERR_INVALID_SEQ, ERR_MSG_TIMEOUT), and runs CBOR / MSG / vendor commands on a worker thread against any
``fido2.ctap.CtapDevice`` so KEEPALIVE (UPNEEDED) and CANCEL work while the user "touches" the key.
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fido2.ctap import STATUS, CtapDevice, CtapError
from fido2.hid import CAPABILITY, CTAPHID

from ...clock import Clock, SystemClock

log = logging.getLogger(__name__)

PACKET_SIZE = 64
INIT_DATA = PACKET_SIZE - 7
CONT_DATA = PACKET_SIZE - 5
MAX_MESSAGE = INIT_DATA + 128 * CONT_DATA  # 7609
BROADCAST = 0xFFFFFFFF
TYPE_INIT = 0x80
PROTOCOL_VERSION = 2
DEVICE_VERSION = (1, 0, 0)
MAX_CHANNELS = 1024  # allocated channels kept; the least recently used one is dropped beyond that


#: CTAPHID_ERROR codes are python-fido2's CtapError.ERR values (INVALID_COMMAND, INVALID_LENGTH, TIMEOUT...)
HidError = CtapError.ERR


def fragment(cid: int, cmd: int, data: bytes, size: int = PACKET_SIZE) -> Iterator[bytes]:
    """The reports carrying one message (always at least the init packet)."""
    if len(data) > MAX_MESSAGE:
        raise ValueError(f"CTAPHID message too long ({len(data)} > {MAX_MESSAGE})")
    first = size - 7
    yield (struct.pack(">IBH", cid, TYPE_INIT | cmd, len(data)) + data[:first]).ljust(size, b"\0")
    rest, seq = data[first:], 0
    while rest:
        chunk, rest = rest[:size - 5], rest[size - 5:]
        yield (struct.pack(">IB", cid, seq) + chunk).ljust(size, b"\0")
        seq += 1


@dataclass
class _Assembly:
    cid: int
    cmd: int
    length: int
    data: bytes
    seq: int
    last: float

    @property
    def complete(self) -> bool:
        return len(self.data) >= self.length


class CtapHidServer:
    """Authenticator side of CTAPHID over any packet transport."""

    def __init__(self, device: CtapDevice, send: Callable[[bytes], None], *, clock: Clock | None = None,
                 msg_timeout: float = 0.5, after_command: Callable[[], None] | None = None) -> None:
        self.device, self._send, self.clock = device, send, clock or SystemClock()
        self.msg_timeout, self.after_command = msg_timeout, after_command
        self.channels: OrderedDict[int, None] = OrderedDict()  # LRU, at most MAX_CHANNELS
        self._assembly: _Assembly | None = None
        self._busy: int | None = None
        self._cancel = threading.Event()
        self._send_lock = threading.Lock()
        self._jobs: queue.Queue[tuple[int, int, bytes] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="ctaphid-worker", daemon=True)
        self._worker.start()
        self.winks = 0

    # -- output ------------------------------------------------------------------------------------------
    def send(self, cid: int, cmd: int, data: bytes) -> None:
        with self._send_lock:
            for pkt in fragment(cid, cmd, data):
                self._send(pkt)

    def error(self, cid: int, code: int) -> None:
        self.send(cid, CTAPHID.ERROR, bytes([code]))

    # -- input -------------------------------------------------------------------------------------------
    def feed(self, packet: bytes) -> None:
        if len(packet) < 5:
            return
        self.tick()
        cid = struct.unpack_from(">I", packet)[0]
        if packet[4] & TYPE_INIT:
            if len(packet) < 7:
                return
            self._init_packet(cid, packet[4] & 0x7F, struct.unpack_from(">H", packet, 5)[0], packet[7:])
        else:
            self._continuation(cid, packet[4], packet[5:])

    def tick(self) -> None:
        """Expire a half-received message (ERR_MSG_TIMEOUT)."""
        a = self._assembly
        if a is not None and self.clock.now() - a.last > self.msg_timeout:
            self._assembly = None
            self.error(a.cid, HidError.TIMEOUT)

    def _init_packet(self, cid: int, cmd: int, length: int, data: bytes) -> None:
        if cmd == CTAPHID.INIT:
            self._init(cid, length, data)
            return
        if cid == 0 or cid == BROADCAST or cid not in self.channels:
            self.error(cid, HidError.INVALID_CHANNEL)
            return
        self.channels.move_to_end(cid)
        if cmd == CTAPHID.CANCEL:
            if self._busy == cid:
                self._cancel.set()
            return
        if (self._busy is not None and self._busy != cid) or (
                self._assembly is not None and self._assembly.cid != cid):
            self.error(cid, HidError.CHANNEL_BUSY)
            return
        if self._busy == cid:
            self.error(cid, HidError.CHANNEL_BUSY)
            return
        if self._assembly is not None:  # a new request while the last one is half sent
            self._assembly = None
            self.error(cid, HidError.INVALID_SEQ)
            return
        if length > MAX_MESSAGE:
            self.error(cid, HidError.INVALID_LENGTH)
            return
        a = _Assembly(cid, cmd, length, data[:length], 0, self.clock.now())
        if a.complete:
            self._dispatch(a)
        else:
            self._assembly = a

    def _continuation(self, cid: int, seq: int, data: bytes) -> None:
        a = self._assembly
        if a is None or a.cid != cid:
            return  # spurious continuation packets are ignored
        if seq != a.seq:
            self._assembly = None
            self.error(cid, HidError.INVALID_SEQ)
            return
        a.data += data[:a.length - len(a.data)]
        a.seq += 1
        a.last = self.clock.now()
        if a.complete:
            self._assembly = None
            self._dispatch(a)

    def _init(self, cid: int, length: int, nonce: bytes) -> None:
        if length != 8:
            self.error(cid, HidError.INVALID_LENGTH)
            return
        if cid == BROADCAST:
            new = struct.unpack(">I", os.urandom(4))[0]
            while new in (0, BROADCAST) or new in self.channels:
                new = struct.unpack(">I", os.urandom(4))[0]
            self.channels[new] = None
            if len(self.channels) > MAX_CHANNELS:  # 100k INITs must not make 100k channels
                self.channels.popitem(last=False)  # (a running command still gets its reply)
        elif cid in self.channels:  # resynchronise: abandon whatever this channel was doing
            new = cid
            if self._assembly is not None and self._assembly.cid == cid:
                self._assembly = None
            if self._busy == cid:
                self._cancel.set()
        else:
            self.error(cid, HidError.INVALID_CHANNEL)
            return
        caps = CAPABILITY.WINK | (self.device.capabilities & (CAPABILITY.CBOR | CAPABILITY.NMSG))
        self.send(cid, CTAPHID.INIT, nonce[:8] + struct.pack(">IBBBBB", new, PROTOCOL_VERSION,
                                                               *DEVICE_VERSION, caps))

    def _dispatch(self, a: _Assembly) -> None:
        if a.cmd == CTAPHID.PING:
            self.send(a.cid, CTAPHID.PING, a.data)
        elif a.cmd == CTAPHID.WINK:
            self.winks += 1
            self.send(a.cid, CTAPHID.WINK, b"")
        elif a.cmd in (CTAPHID.CBOR, CTAPHID.MSG) or a.cmd >= CTAPHID.VENDOR_FIRST:
            self._busy = a.cid
            self._cancel.clear()
            self._jobs.put((a.cid, a.cmd, a.data))
        else:
            self.error(a.cid, HidError.INVALID_COMMAND)

    # -- worker ------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            cid, cmd, data = job

            def keepalive(status: STATUS, cid: int = cid) -> None:
                self.send(cid, CTAPHID.KEEPALIVE, bytes([status]))

            try:
                reply = self.device.call(cmd, data, self._cancel, keepalive)
            except CtapError as e:  # the device refused the command itself (e.g. unknown vendor command)
                self._busy = None
                self.error(cid, int(e.code))
                continue
            except Exception:
                log.exception("device failed on CTAPHID command 0x%02x", cmd)
                self._busy = None
                self.error(cid, HidError.OTHER)
                continue
            self._busy = None
            if self.after_command is not None:
                try:
                    self.after_command()
                except Exception:
                    log.exception("after_command hook failed")
            self.send(cid, cmd, reply)

    def unplug(self) -> None:
        """The key was pulled: every channel and half-received message is gone, a running command is
        cancelled."""
        self.channels.clear()
        self._assembly = None
        if self._busy is not None:
            self._cancel.set()

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=2.0)
