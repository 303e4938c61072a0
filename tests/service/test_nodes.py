"""Several service processes on one store: the cross-process race and crashes mid-request.

Each node is a real ``tokensim verifier serve`` process (uvicorn) on its own loopback port;
clients are separate processes.  Codes come from pyotp, never from tokensim.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tokens.service.pgcluster import TempPostgres
from tokens.verifier import SQLiteStore

from ._nodes import Node, call, post, start_nodes
from .conftest import SECRET_B32, START, STEP0, code_at_step

CLIENTS = 16
NODES = 4
ROUNDS = 3


@pytest.fixture
def nodes_factory() -> Iterator[Any]:
    started: list[Node] = []

    def start(db: str, n: int, *extra: str) -> list[Node]:
        nodes = start_nodes(db, n, *extra)
        started.extend(nodes)
        return nodes

    yield start
    for node in started:
        node.stop()


def enroll(url: str, serial: str) -> None:
    out = post(url, "/v1/enroll", {"serial": serial, "secret": SECRET_B32, "code1": code_at_step(STEP0 - 1),
                                   "code2": code_at_step(STEP0), "at": START})
    assert out["ok"], out


def test_sixteen_clients_four_nodes_exactly_one_ok(store_url: str, nodes_factory: Any) -> None:
    nodes = nodes_factory(store_url, NODES)
    assert len({n.port for n in nodes}) == NODES
    # every round: all 16 clients present the same fresh code of a new credential at the same moment
    # (a fresh credential per round: the losers' "replayed" count as failures and would soon
    # throttle and lock the credential)
    rounds = []
    for r in range(ROUNDS):
        enroll(nodes[r % NODES].url, f"RACE{r}")
        rounds.append((f"RACE{r}", code_at_step(STEP0 + 1), START + 30))
    script = str(Path(__file__).with_name("_race_client.py"))
    procs = [subprocess.Popen([sys.executable, "-I", script, nodes[i % NODES].url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for i in range(CLIENTS)]
    got: list[tuple[int, str]] = []
    try:
        for r, (serial, code, at) in enumerate(rounds):
            line = json.dumps({"serial": serial, "code": code, "at": at}) + "\n"
            for p in procs:  # every client holds an open connection and waits for this line
                assert p.stdin is not None
                p.stdin.write(line)
            for p in procs:
                assert p.stdin is not None
                p.stdin.flush()
            for p in procs:
                assert p.stdout is not None
                got.append((r, p.stdout.readline().strip()))
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
    for r in range(ROUNDS):
        reasons = Counter(reason for rnd, reason in got if rnd == r)
        assert reasons["ok"] == 1, (r, reasons)
        # the others lost: replayed, or already refused by the back-off the replays triggered
        assert reasons["replayed"] >= 1 and set(reasons) <= {"ok", "replayed", "throttled", "locked"}
        for n in nodes:  # every node sees the one accepted step
            assert call(n.url, "GET", f"/v1/credentials/RACE{r}")[1]["last_step"] == STEP0 + 1


def _check_in_thread(url: str, code: str, at: float) -> tuple[threading.Thread, queue.Queue[Any]]:
    out: queue.Queue[Any] = queue.Queue()

    def run() -> None:
        try:
            out.put(post(url, "/v1/check", {"serial": "T", "code": code, "at": at}, timeout=30))
        except Exception as e:
            out.put(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _wait_for_lock_waiter(admin_url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                               " AND application_name = 'tokensim-verifier'").fetchone()
            if row and row[0] >= 1:
                return
            time.sleep(0.05)
    raise AssertionError("the node's accept never blocked on the row lock")


def _assert_all_or_nothing_then_at_most_once(survivor: Node, step: int, history_steps: list[int]) -> bool:
    """The interrupted accept was applied completely (step and its history row) or not at all;
    either way the survivor accepts that code at most once.  Returns whether it had been applied."""
    shown = call(survivor.url, "GET", "/v1/credentials/T")[1]
    applied = shown["last_step"] == step
    assert shown["last_step"] in (step - 1, step)
    assert history_steps.count(step) == (1 if applied else 0)  # all or nothing
    code, at = code_at_step(step), START + 30 * (step - STEP0)
    first = post(survivor.url, "/v1/check", {"serial": "T", "code": code, "at": at + 1})
    second = post(survivor.url, "/v1/check", {"serial": "T", "code": code, "at": at + 2})
    expected = ("replayed", "replayed") if applied else ("ok", "replayed")
    assert (first["reason"], second["reason"]) == expected
    assert call(survivor.url, "GET", "/v1/credentials/T")[1]["last_step"] == step
    return applied


def test_node_killed_mid_request_postgres(fresh_postgres_url: str, postgres_url: str,
                                          nodes_factory: Any) -> None:
    a, b = nodes_factory(fresh_postgres_url, 2)
    enroll(a.url, "T")
    assert post(a.url, "/v1/check", {"serial": "T", "code": code_at_step(STEP0 + 1),
                                      "at": START + 30})["ok"]
    with psycopg.connect(fresh_postgres_url, connect_timeout=10) as holder:
        # hold the credential's row lock: node A's attempt (the reserving UPDATE) must wait
        holder.execute("SELECT 1 FROM credentials WHERE serial = 'T' FOR UPDATE")
        t, out = _check_in_thread(a.url, code_at_step(STEP0 + 2), START + 60)
        _wait_for_lock_waiter(postgres_url)
        a.kill()  # mid-request: its statement is queued behind our lock, its client is gone
        t.join(timeout=10)
        assert isinstance(out.get(timeout=5), Exception)  # the client never got an answer
        holder.rollback()
        # queue behind the dead node's statement: once we hold the lock, it has finished
        holder.execute("SELECT 1 FROM credentials WHERE serial = 'T' FOR UPDATE")
        history = [r[0] for r in holder.execute("SELECT step FROM drift_history WHERE serial = 'T'")]
        holder.rollback()
    # PostgreSQL finishes (and, autocommit, commits) a statement whose client died while it
    # waited: that was the reservation (the attempt counted as a failure in advance), so the
    # code was never looked at — not used up, and the survivor accepts it exactly once
    assert not _assert_all_or_nothing_then_at_most_once(b, STEP0 + 2, history)


def test_node_killed_mid_request_sqlite(tmp_path: Path, nodes_factory: Any) -> None:
    db = tmp_path / "v.sqlite3"
    a, b = nodes_factory(f"sqlite://{db}", 2)
    enroll(a.url, "T")
    assert post(a.url, "/v1/check", {"serial": "T", "code": code_at_step(STEP0 + 1),
                                      "at": START + 30})["ok"]
    holder = sqlite3.connect(db, isolation_level=None, timeout=10)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock: node A's accept must wait for it
        t, out = _check_in_thread(a.url, code_at_step(STEP0 + 2), START + 60)
        time.sleep(1.0)  # A has read (WAL readers don't block) and is now waiting to write
        assert t.is_alive()
        a.kill()
        t.join(timeout=10)
        assert isinstance(out.get(timeout=5), Exception)
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    with SQLiteStore(db) as store:  # the history is packed into the credential's row
        history = [o.step for o in store.history("T")]
    # SQLite runs the transaction inside the node: killed before COMMIT, nothing was applied
    assert not _assert_all_or_nothing_then_at_most_once(b, STEP0 + 2, history)


def test_database_restart_keeps_accepted_steps(postgres_cluster: TempPostgres, fresh_postgres_url: str,
                                               nodes_factory: Any) -> None:
    """PostgreSQL crashes (immediate stop) with a request in flight and comes back: every step
    accepted before is still there, the in-flight one is accepted at most once overall."""
    (a,) = nodes_factory(fresh_postgres_url, 1)
    enroll(a.url, "T")
    for k in range(1, 4):
        out = post(a.url, "/v1/check", {"serial": "T", "code": code_at_step(STEP0 + k), "at": START + 30 * k})
        assert out["ok"]
    holder = psycopg.connect(fresh_postgres_url, connect_timeout=10)
    holder.execute("SELECT 1 FROM credentials WHERE serial = 'T' FOR UPDATE")
    t, out_q = _check_in_thread(a.url, code_at_step(STEP0 + 4), START + 120)
    _wait_for_lock_waiter(postgres_cluster.url("tokensim_test"))
    postgres_cluster.restart()  # crash + recovery while A waits inside its transaction
    holder.close()
    t.join(timeout=40)
    in_flight = out_q.get(timeout=5)
    # after the restart the node serves again (its pool reconnects)
    oks = 1 if isinstance(in_flight, dict) and in_flight.get("ok") else 0
    for k in range(1, 5):
        status, out = call(a.url, "POST", "/v1/check",
                           {"serial": "T", "code": code_at_step(STEP0 + k), "at": START + 30 * k + 5})
        assert status == 200, out
        if k < 4:
            assert out["reason"] == "replayed"  # accepted before the crash: not lost
        oks += out["ok"]
    assert oks == 1  # the in-flight step: accepted exactly once, by the retry or afterwards
    assert call(a.url, "GET", "/v1/credentials/T")[1]["last_step"] == STEP0 + 4


def test_workers_share_one_port(tmp_path: Path, nodes_factory: Any) -> None:
    (node,) = nodes_factory(f"sqlite://{tmp_path / 'v.db'}", 1, "--workers", "2")
    enroll(node.url, "W")
    pids = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:  # new connections land on either worker
        pids.add(call(node.url, "GET", "/health")[1]["pid"])
    assert len(pids) == 2
    out = [post(node.url, "/v1/check", {"serial": "W", "code": code_at_step(STEP0 + 1), "at": START + 30})
           ["reason"] for _ in range(4)]
    assert out == ["ok", "replayed", "replayed", "replayed"]
