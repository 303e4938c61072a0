"""Run the verification service on uvicorn: one process, or N worker processes on one port.

The parent binds the listening socket itself (so ``--port 0`` works and the port is known), then
either serves in-process (``workers == 1``) or hands the socket to N uvicorn worker processes
(uvicorn's supervisor: the kernel spreads connections over the workers; a worker that dies is
replaced).  Each worker opens its own store connection pool.  Worker processes are spawned and
rebuild their configuration from the environment variable ``TOKENSIM_SERVICE_CONFIG`` (JSON,
never containing the API key: that is read by each worker from the variable ``api_key_env`` names).

When ``/health`` answers, one JSON line goes to stdout:
``{"url": "http://127.0.0.1:PORT", "pid": ..., "workers": N, "store": "..."}``.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .._asgi import bind_tcp
from ..errors import InputError, TokensimError
from ..verifier.stores import describe_url
from .app import ServiceConfig, create_app, open_service_store

ENV_CONFIG = "TOKENSIM_SERVICE_CONFIG"


@dataclass(frozen=True)
class ServeOptions:
    db: str
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    api_key_env: str | None = None
    trust_client_time: bool = False
    max_body: int = 256 * 1024
    max_batch: int = 1000
    pool_size: int = 8
    log_level: str = "warning"
    ready_timeout: float = 60.0


def _api_key(env_name: str | None) -> str | None:
    if not env_name:
        return None
    key = os.environ.get(env_name, "")
    if len(key) < 16:
        raise InputError(f"the API key in ${env_name} is missing or shorter than 16 characters")
    return key


def _service_config(opts: ServeOptions) -> ServiceConfig:
    return ServiceConfig(db=opts.db, api_key=_api_key(opts.api_key_env),
                         trust_client_time=opts.trust_client_time, max_body=opts.max_body,
                         max_batch=opts.max_batch, pool_size=opts.pool_size)


def app_from_env() -> Any:
    """uvicorn factory for worker processes: the app described by $TOKENSIM_SERVICE_CONFIG."""
    opts = ServeOptions(**json.loads(os.environ[ENV_CONFIG]))
    return create_app(_service_config(opts))


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, inheritable by worker processes."""
    sock = bind_tcp(host, port, TokensimError)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def wait_healthy(host: str, port: int, timeout: float) -> bool:
    """Poll GET /health until it answers 200 (True) or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(host, port, timeout=2.0)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.05)
    return False


def _announce(opts: ServeOptions, port: int, announce: Callable[[dict[str, Any]], None] | None) -> None:
    host = f"[{opts.host}]" if ":" in opts.host else opts.host
    if wait_healthy(opts.host, port, opts.ready_timeout):
        line = {"url": f"http://{host}:{port}", "pid": os.getpid(), "workers": opts.workers,
                "store": describe_url(opts.db), "auth": bool(opts.api_key_env)}
        if announce is not None:  # the CLI's one ready-line shape
            announce(line)
            return
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
    else:
        sys.stderr.write(f"error: the service did not become healthy within {opts.ready_timeout:g} s\n")
        sys.stderr.flush()
        os.kill(os.getpid(), 15)  # let uvicorn shut down cleanly


def serve(opts: ServeOptions, announce: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit code.  ``announce`` gets the ready line's fields
    (default: written to stdout as JSON)."""
    import uvicorn

    if opts.workers < 1:
        raise InputError("--workers must be at least 1")
    if opts.db.lower().startswith("memory:") and opts.workers > 1:
        raise InputError("an in-memory store cannot be shared by worker processes: use --workers 1, "
                         "SQLite or PostgreSQL")
    config = _service_config(opts)  # fail fast on a bad key before binding anything
    # open the store here first: a bad URL or an unreachable database is one clear error line,
    # and the schema is created/migrated once before any worker starts
    store = open_service_store(config)
    if opts.workers > 1:
        store.close()
    sock = bind(opts.host, opts.port)
    port = int(sock.getsockname()[1])
    threading.Thread(target=_announce, args=(opts, port, announce), daemon=True, name="announce").start()
    common: dict[str, Any] = {"log_level": opts.log_level, "access_log": False, "lifespan": "on",
                              "timeout_graceful_shutdown": 10, "server_header": False}
    try:
        if opts.workers == 1:
            server = uvicorn.Server(uvicorn.Config(create_app(config, store), **common))
            try:
                server.run(sockets=[sock])
            except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
                pass
            return 0 if server.started else 1
        from uvicorn.supervisors import Multiprocess

        os.environ[ENV_CONFIG] = json.dumps(asdict(opts))
        mp_config = uvicorn.Config("tokens.service.server:app_from_env", factory=True,
                                   workers=opts.workers, **common)
        try:
            Multiprocess(mp_config, sockets=[sock]).run()
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        sock.close()
