"""Start verification-service processes (``python -m tokens verifier serve``) and talk to them.

Everything here is stdlib-only so spawned client processes import it quickly.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

START_TIMEOUT = 60.0


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    url: str

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the node dies wherever it is, mid-request included."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def launch(db: str, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "tokens", "verifier", "serve", "--port", "0", "--db", db,
           "--trust-client-time",
           "--log-level", "error", *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=os.environ.copy())


def ready(proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> Node:
    """Wait for the one JSON line the service prints when healthy."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            proc.kill()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"service did not start (exit {proc.poll()}): {err[-2000:]}")
        r, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            buf += chunk
    line = json.loads(buf.split(b"\n", 1)[0])
    return Node(proc, line["url"])


def start_nodes(db: str, n: int, *extra: str) -> list[Node]:
    procs = [launch(db, *extra) for _ in range(n)]  # start together, wait together
    nodes: list[Node] = []
    try:
        for p in procs:
            nodes.append(ready(p))
    except BaseException:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
        raise
    return nodes


def call(url: str, method: str, path: str, body: Any = None, timeout: float = 20.0,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def post(url: str, path: str, body: Any, timeout: float = 20.0) -> Any:
    status, out = call(url, "POST", path, body, timeout)
    if status != 200:
        raise RuntimeError(f"POST {path} -> {status}: {out}")
    return out
