"""Run the endpoint with uvicorn: one JSON line when ready, clean shutdown on SIGINT/SIGTERM.

:class:`AwsServer` also runs in a thread for tests (``start()`` / ``stop()``), sharing a
ManualClock with the test so TOTP steps never need sleeping.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from ..clock import Clock
from ..policy import PolicyDocument
from .app import create_app
from .authz import Authorizer
from .backend import DEFAULT_ACCOUNT, Backend
from .errors import AwsServerError


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


class AwsServer:
    """The IAM/STS endpoint on ``host:port`` (port 0: a free one) over the SQLite file ``db``."""

    def __init__(self, db: str | Path, *, host: str = "127.0.0.1", port: int = 0,
                 account_id: str = DEFAULT_ACCOUNT, clock: Clock | None = None,
                 backend: Backend | None = None, on_ready: Callable[[AwsServer], None] | None = None,
                 policies: Sequence[PolicyDocument] = ()) -> None:
        self.on_ready = on_ready
        self.policies = tuple(policies)
        authorizer = Authorizer(self.policies) if self.policies else None  # validates before opening the db
        self.backend = backend or Backend(db, account_id=account_id, clock=clock)
        try:
            # proto IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say TCP, and without
            # it every response (headers and body written separately) waits ~40 ms for a delayed ACK
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))
        except OSError as e:
            self.backend.close()
            raise AwsServerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
        self.host, self.port = host, int(self._sock.getsockname()[1])
        self.ready = threading.Event()
        config = uvicorn.Config(create_app(self.backend, authorizer), log_level="warning", access_log=False,
                                lifespan="off")
        self._server = _Uvicorn(config, self._ready)
        self._thread: threading.Thread | None = None

    def _ready(self) -> None:
        self.ready.set()
        if self.on_ready is not None:
            self.on_ready(self)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def info(self) -> dict[str, Any]:
        return {"event": "ready", "url": self.url, "host": self.host, "port": self.port,
                "account_id": self.backend.account_id, "db": self.backend.state.path,
                "policies": [p.name for p in self.policies]}

    def run(self) -> int | None:
        """Serve in this thread until SIGINT/SIGTERM (or stop()); returns the signal number, if any."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()
            self.backend.close()
        return self._server.got_signal

    # -- in a thread (tests, embedding)
    def start(self, timeout: float = 10.0) -> AwsServer:
        self._thread = threading.Thread(target=self.run, name="tokensim-aws-serve", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            self.stop()
            raise AwsServerError(f"the endpoint did not start within {timeout} s")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> AwsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
