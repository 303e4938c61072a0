"""An in-process port: the driver's :class:`hw.link.Port` wired straight to an endpoint.

Writes are fed to the endpoint at once; reads return what it answered.  No threads, no sleeps
(a read with nothing to return polls the endpoint, then gives up after its timeout), so tests and
the conformance suite can drive the firmware synchronously under a ManualClock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .errors import UnplugFault
from .faults import Endpoint


class LoopbackPort:
    """pyserial-shaped: ``write``, ``read(size)``, ``in_waiting``, ``timeout``, ``close``."""

    def __init__(self, endpoint: Endpoint, timeout: float | None = 0.25, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._monotonic, self._sleep = monotonic, sleep
        self._rx = bytearray()
        self.is_open = True
        self.unplugged = False

    def _check(self) -> None:
        if self.unplugged:
            import serial

            raise serial.SerialException("device reports readiness to read but returned no data "
                                         "(device disconnected or multiple access on port?)")
        if not self.is_open:
            raise ValueError("port is closed")

    def write(self, data: bytes, /) -> int:
        self._check()
        try:
            self._rx += self.endpoint.feed(bytes(data))
        except UnplugFault:
            self.unplugged = True
        return len(data)

    @property
    def in_waiting(self) -> int:
        self._check()
        return len(self._rx)

    def read(self, size: int = 1, /) -> bytes:
        self._check()
        deadline = self._monotonic() + (self.timeout or 0.0)
        while not self._rx:
            self._rx += self.endpoint.poll()
            if self._rx:
                break
            wait = self.endpoint.wakeup()
            if wait is None or self._monotonic() >= deadline:
                self._check()
                return b""
            self._sleep(min(wait, max(0.0, deadline - self._monotonic())))
            self._check()
        out = bytes(self._rx[:size])
        del self._rx[:size]
        return out

    def close(self) -> None:
        self.is_open = False
