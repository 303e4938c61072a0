"""Runners: a thin I/O shell putting an :class:`~firmware_sim.faults.Endpoint` behind a real
pseudo-terminal (``os.openpty`` in raw mode) or a TCP socket (pyserial ``socket://host:port``).

A runner owns one thread that waits with ``select`` on the port and a wake-up pipe, feeds what
arrives to the endpoint and writes back what it returns.  An endpoint raising
:class:`~firmware_sim.errors.UnplugFault` makes the runner drop the line: the pty master is closed
(the host's next read fails), or the TCP client is disconnected (a new client may connect).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from .errors import UnplugFault
from .faults import Endpoint

T = TypeVar("T")
IDLE_WAKEUP = 0.5  # seconds; the loop re-checks its stop flag at least this often


class Runner:
    """Base: the select loop.  Subclasses provide the file descriptor to serve."""

    url: str

    def __init__(self, endpoint: Endpoint, on_tick: Callable[[], None] | None = None) -> None:
        self.endpoint = endpoint
        self.on_tick = on_tick
        self.lock = threading.RLock()  # held while the endpoint runs; take it to touch the firmware
        self.unplugged = threading.Event()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.error: BaseException | None = None

    # -- lifecycle
    def start(self) -> Self:
        self._open()
        self._thread = threading.Thread(target=self._run, name=f"tokensim-runner {self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and close the port; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"w")

    def run_in_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (e.g. ``firmware.press_button``) under the lock, then let the loop send output."""
        with self.lock:
            out = fn()
        self.wake()
        return out

    def wait(self) -> None:
        """Block until stopped (or the loop died)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    # -- subclass hooks
    def _open(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    def _fds(self) -> list[int]:
        """Descriptors to wait on besides the wake-up pipe."""
        raise NotImplementedError

    def _on_readable(self, fd: int) -> None:
        raise NotImplementedError

    # -- loop
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self.lock:
                    timeout = self.endpoint.wakeup()
                if self.on_tick is not None:
                    timeout = 0.02 if timeout is None else min(timeout, 0.02)
                ready, _, _ = select.select([self._wake_r, *self._fds()], [], [],
                                            IDLE_WAKEUP if timeout is None else timeout)
                if self._wake_r in ready:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 512)
                for fd in ready:
                    if fd != self._wake_r:
                        self._on_readable(fd)
                if self.on_tick is not None:
                    with self.lock:
                        self.on_tick()
                with self.lock:
                    out = self.endpoint.poll()
                if out:
                    self._send(out)
        except BaseException as e:  # keep it for the owner; never die silently
            self.error = e

    def _exchange(self, data: bytes) -> None:
        try:
            with self.lock:
                out = self.endpoint.feed(data)
        except UnplugFault:
            self.unplugged.set()
            self._unplug()
            return
        if out:
            self._send(out)

    def _send(self, data: bytes) -> None:
        raise NotImplementedError

    def _unplug(self) -> None:
        raise NotImplementedError


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        view = view[n:]


class PtyRunner(Runner):
    """Serve the endpoint on a new pseudo-terminal; :attr:`url` is the slave's path (/dev/pts/N)."""

    def _open(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass unchanged
        self.url = os.ttyname(self._slave)
        os.set_blocking(self._master, False)

    def _fds(self) -> list[int]:
        return [self._master] if self._master >= 0 else []

    def _on_readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no slave open; we keep ours open, so this is rare
            return
        if data:
            self._exchange(data)

    def _send(self, data: bytes) -> None:
        if self._master >= 0:
            with contextlib.suppress(OSError):
                _write_all(self._master, data)

    def _unplug(self) -> None:
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1

    def _close(self) -> None:
        self._unplug()


class TcpRunner(Runner):
    """Serve the endpoint on 127.0.0.1:PORT (0 = a free port), one client at a time;
    :attr:`url` is ``socket://127.0.0.1:PORT`` for pyserial."""

    def __init__(self, endpoint: Endpoint, port: int = 0, host: str = "127.0.0.1",
                 on_tick: Callable[[], None] | None = None) -> None:
        super().__init__(endpoint, on_tick)
        self._host, self._port = host, port
        self._client: socket.socket | None = None

    def _open(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind((self._host, self._port))
        self._server.listen(1)
        self._server.setblocking(False)
        self.port = self._server.getsockname()[1]
        self.url = f"socket://{self._host}:{self.port}"

    def _fds(self) -> list[int]:
        fds = [self._server.fileno()]
        if self._client is not None:
            fds.append(self._client.fileno())
        return fds

    def _on_readable(self, fd: int) -> None:
        if fd == self._server.fileno():
            try:
                conn, _ = self._server.accept()
            except BlockingIOError:
                return
            if self._client is not None:  # a new host takes over the line
                self._client.close()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.setblocking(False)
            self._client = conn
            return
        if self._client is None or fd != self._client.fileno():
            return
        try:
            data = self._client.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._client.close()
            self._client = None
            return
        self._exchange(data)

    def _send(self, data: bytes) -> None:
        if self._client is None:
            return
        try:
            self._client.setblocking(True)
            self._client.settimeout(2.0)
            self._client.sendall(data)
            self._client.setblocking(False)
        except OSError:
            self._client.close()
            self._client = None

    def _unplug(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _close(self) -> None:
        self._unplug()
        with contextlib.suppress(OSError):
            self._server.close()
