"""The host side of the wire: send a request, get its reply — with CRC checks, timeouts, bounded
retries, resynchronisation after garbage and keepalive handling.

:class:`Link` talks to anything with pyserial's small surface (:class:`Port`): a real serial
device, a pty, ``socket://``, ``loop://``, or an in-process loopback to the firmware simulator.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Protocol

from .errors import LinkConfigError, MalformedReply, NotResponding, Unplugged, error_for
from .protocol import framing
from .protocol.commands import PROTOCOL_VERSION, Cmd, PayloadError, Request, Response, Status

DEFAULT_TIMEOUT = 0.25  # seconds per attempt (docs/serial-protocol.md §6)
DEFAULT_RETRIES = 3
DEFAULT_MAX_WAIT = 30.0  # hard bound on one command, keepalives included


class Port(Protocol):
    """The part of ``serial.Serial`` the link uses."""

    timeout: float | None

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    @property
    def in_waiting(self) -> int: ...

    def close(self) -> None: ...


def _is_port_failure(e: BaseException) -> bool:
    import serial

    return isinstance(e, serial.SerialException | OSError)


class Link:
    """One command at a time over a :class:`Port`; not thread-safe."""

    def __init__(self, port: Port, *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 max_wait: float = DEFAULT_MAX_WAIT, monotonic: Callable[[], float] = time.monotonic) -> None:
        if retries < 0 or timeout <= 0:
            raise LinkConfigError("retries must be >= 0 and timeout > 0")
        self.port = port
        self.timeout, self.retries, self.max_wait = timeout, retries, max_wait
        self._monotonic = monotonic
        self._decoder = framing.FrameDecoder()
        # a random start: a new session's first command must not repeat the previous session's last
        # (the device would answer it from its retry cache)
        self._seq = random.randrange(256)
        self.dead = False
        self.stats = {"sent": 0, "retries": 0, "bad_frames": 0, "stale": 0, "keepalives": 0}

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except Exception as e:
            if _is_port_failure(e):
                self.dead = True
                raise Unplugged(f"serial port write failed ({e}); was the device unplugged?") from None
            raise

    def _read(self) -> bytes:
        """What the port has, or at least one byte within ``timeout`` (else b"").

        The port's timeout is set once, not per read: pyserial reconfigures the tty on every change.
        So an attempt may outlast its deadline by at most one read timeout."""
        try:
            if self.port.timeout != self.timeout:
                self.port.timeout = self.timeout
            waiting = self.port.in_waiting
            return self.port.read(max(1, waiting))
        except Exception as e:
            if _is_port_failure(e):
                self.dead = True
                raise Unplugged(f"serial port read failed ({e}); was the device unplugged?") from None
            raise

    def transact(self, cmd: Cmd, payload: bytes = b"") -> Response:
        """Send ``cmd`` and return its OK reply; raise a typed error otherwise."""
        if self.dead:
            raise Unplugged("the serial port is gone; reopen the device")
        seq = self._next_seq()
        frame = framing.encode_frame(Request(seq, cmd, payload).to_bytes())
        started = self._monotonic()
        hard_deadline = started + self.max_wait
        failed = sent = 0
        while True:
            self._write(frame)  # the same bytes, same seq: the device answers a retry from its cache
            sent += 1
            self.stats["sent"] += 1
            reply, alive = self._await(seq, cmd, hard_deadline)
            if reply is not None:
                if reply.status != Status.OK:
                    raise error_for(reply.status, reply.payload, cmd.name)
                return reply
            if self._monotonic() >= hard_deadline:
                break
            if not alive:  # a keepalive in this attempt shows the device is working: no retry spent
                failed += 1
                if failed > self.retries:
                    break
            self.stats["retries"] += 1
        waited = self._monotonic() - started
        raise NotResponding(f"{cmd.name}: no valid reply after {sent} attempt(s) in {waited:.2f} s "
                            f"(check the port and baud rate)")

    def _await(self, seq: int, cmd: Cmd, hard_deadline: float) -> tuple[Response | None, bool]:
        """Read until the reply to (seq, cmd) arrives or the timeout passes; (reply, keepalive seen)."""
        deadline = min(self._monotonic() + self.timeout, hard_deadline)
        alive = False
        while True:
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                return None, alive
            chunk = self._read()
            if not chunk:
                continue
            before = self._decoder.errors
            for body in self._decoder.feed(chunk):
                try:
                    resp = Response.parse(body)
                except PayloadError:
                    self.stats["bad_frames"] += 1
                    continue
                if resp.seq != seq or resp.cmd != cmd:
                    self.stats["stale"] += 1  # a late reply to an earlier attempt or command
                    continue
                if resp.status == Status.PENDING:
                    self.stats["keepalives"] += 1
                    alive = True
                    deadline = min(self._monotonic() + self.timeout, hard_deadline)
                    continue
                if resp.version != PROTOCOL_VERSION and resp.status == Status.OK:
                    raise MalformedReply(f"device replied with protocol version {resp.version}")
                return resp, alive
            self.stats["bad_frames"] += self._decoder.errors - before

    def close(self) -> None:
        try:
            self.port.close()
        except Exception as e:
            if not _is_port_failure(e):
                raise
