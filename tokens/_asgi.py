"""Serve an ASGI app with uvicorn on a socket bound beforehand, in this thread or in a background one.

The servers of tokensim (the demo RP, the AWS endpoint, the verification service) bind their
listening socket themselves — so ``port=0`` works and the port is known before anything is
served, and "cannot listen" is one clear error — then hand it to uvicorn:

- :func:`bind_tcp` binds it (``IPPROTO_TCP``, see there) or raises the caller's error type;
- :class:`ThreadedServer` serves an app on it: :meth:`~ThreadedServer.run` in this thread until
  SIGINT/SIGTERM (exit status 0, the signal is not re-raised) or :meth:`~ThreadedServer.stop`;
  :meth:`~ThreadedServer.start` in a daemon thread, returning once uvicorn accepts connections;
- :class:`ServerOwner` gives a server object that holds one the same run/start/stop/``with``.

This sits below every app layer (it knows no app), so each of them can import it.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any, Self

import uvicorn


def bind_tcp(host: str, port: int, error: Callable[[str], Exception]) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv6 when ``host`` has a colon; port 0: a free one);
    ``error(message)`` is raised when it cannot be bound."""
    # proto IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say TCP (accepted ones
    # inherit it), and without it every response (headers and body written separately) waits ~40 ms
    # for the client's delayed ACK
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise error(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    return sock


class _Uvicorn(uvicorn.Server):
    """uvicorn with a ready callback, and signal handling that does not re-raise after shutdown."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self.got_signal: int | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """Stop on SIGINT/SIGTERM without re-raising the signal afterwards (exit 0, not 130)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(sig: int, frame: FrameType | None) -> None:
            self.got_signal = sig
            self.should_exit = True

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)


class ThreadedServer:
    """uvicorn serving ``app`` on the bound socket ``sock`` (which it closes when it stops).

    ``on_ready`` is called (in the serving thread) once connections are accepted; ``what`` names
    the server in the ``error`` raised when it does not start in time, ``thread`` its thread.
    """

    def __init__(self, app: Any, sock: socket.socket, *, what: str, thread: str,
                 error: Callable[[str], Exception], on_ready: Callable[[], None] | None = None,
                 log_level: str = "warning") -> None:
        self.sock, self.what, self.thread_name = sock, what, thread
        self._error, self._on_ready = error, on_ready
        self.ready = threading.Event()
        config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
        self._server = _Uvicorn(config, self._ready)
        self._thread: threading.Thread | None = None

    def _ready(self) -> None:
        self.ready.set()
        if self._on_ready is not None:
            self._on_ready()

    def run(self) -> int | None:
        """Serve in this thread until SIGINT/SIGTERM (or :meth:`stop`); the signal number, if any."""
        try:
            self._server.run(sockets=[self.sock])
        finally:
            self.sock.close()
        return self._server.got_signal

    def start(self, target: Callable[[], object] | None = None, timeout: float = 10.0) -> None:
        """Serve in a daemon thread (``target`` instead of :meth:`run` when the owner has its own
        clean-up around it); returns once ready, or stops and raises ``error`` after ``timeout`` s."""
        self._thread = threading.Thread(target=target or self.run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            self.stop()
            raise self._error(f"{self.what} did not start within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


class ServerOwner:
    """What a server object built on a :class:`ThreadedServer` (kept in ``_server``) offers:
    ``run()`` here, ``start()``/``stop()`` in a thread, and ``with server:`` for start/stop."""

    _server: ThreadedServer
    on_ready: Callable[[Any], None] | None  # called with the server object once it is ready
    host: str
    port: int
    ready: threading.Event
    _sock: socket.socket

    def _serve(self, app: Any, host: str, sock: socket.socket, *, what: str, thread: str,
               error: Callable[[str], Exception]) -> None:
        """Set up serving ``app`` on ``sock`` (bound to ``host``): ``host``, ``port``, ``ready``."""
        self.host, self.port, self._sock = host, int(sock.getsockname()[1]), sock
        self._server = ThreadedServer(app, sock, what=what, thread=thread, error=error,
                                      on_ready=self._call_on_ready)
        self.ready = self._server.ready

    def _call_on_ready(self) -> None:
        if self.on_ready is not None:
            self.on_ready(self)

    def run(self) -> int | None:
        """Serve in this thread until SIGINT/SIGTERM (or :meth:`stop`); the signal number, if any."""
        return self._server.run()

    def start(self, timeout: float = 10.0) -> Self:
        """Serve in a daemon thread; returns once connections are accepted."""
        self._server.start(self.run, timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.stop(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
