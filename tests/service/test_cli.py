"""``tokensim verifier serve`` as a user runs it: one JSON line when ready, clean stop, one-line errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ._nodes import call, ready

TOKENSIM = [sys.executable, "-m", "tokens"]


def test_serve_prints_url_answers_and_stops_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "SVC_KEY": "s3cret-key-of-some-length"}
    proc = subprocess.Popen([*TOKENSIM, "verifier", "serve", "--port", "0", "--db", str(tmp_path / "v.db"),
                             "--api-key-env", "SVC_KEY"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    node = ready(proc)
    try:
        assert node.url.startswith("http://127.0.0.1:")
        assert call(node.url, "GET", "/health") == (200, {"status": "ok"})  # liveness only
        status, health = call(node.url, "GET", "/health", headers={"X-API-Key": env["SVC_KEY"]})
        assert status == 200 and health["store"] == f"sqlite://{tmp_path / 'v.db'}"
        assert call(node.url, "POST", "/v1/check", {"serial": "x", "code": "123456"})[0] == 401
        status, out = call(node.url, "POST", "/v1/check", {"serial": "x", "code": "123456"},
                           headers={"X-API-Key": env["SVC_KEY"]})
        assert status == 200 and out["reason"] == "unknown"
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: graceful shutdown, exit 0, no traceback
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--db", "ftp://nowhere/x"], {}, "unknown store URL scheme 'ftp'"),
    (["--api-key-env", "NO_SUCH_VAR_FOR_TOKENSIM"], {}, "NO_SUCH_VAR_FOR_TOKENSIM is missing or shorter"),
    (["--api-key-env", "SHORT_KEY"], {"SHORT_KEY": "abc"}, "shorter than 16"),
    (["--workers", "0"], {}, "must be at least 1"),
    (["--workers", "2", "--db", "memory:"], {}, "cannot be shared by worker processes"),
])
def test_serve_errors_are_one_line(tmp_path: Path, args: list[str], env: dict[str, str],
                                   message: str) -> None:
    cmd = [*TOKENSIM, "verifier", "serve", "--port", "0", "--db", str(tmp_path / "v.db"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert proc.returncode in (1, 2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], proc.stderr
    assert proc.stdout == ""


def test_serve_help_lists_the_options() -> None:
    out = subprocess.run([*TOKENSIM, "verifier", "serve", "--help"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    for opt in ("--host", "--port", "--db", "--workers", "--api-key-env", "--trust-client-time"):
        assert opt in out


def test_listening_socket_is_tcp_so_responses_are_not_delayed() -> None:
    """asyncio turns Nagle off only for sockets whose proto is IPPROTO_TCP (accepted sockets
    inherit it); a proto-0 socket made every response wait ~40 ms for the client's delayed ACK."""
    import socket as _socket

    from tokens.service.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == _socket.IPPROTO_TCP
        client = _socket.create_connection(sock.getsockname(), timeout=5)
        conn, _ = sock.accept()
        try:
            assert conn.proto == _socket.IPPROTO_TCP
        finally:
            conn.close()
            client.close()
    finally:
        sock.close()
