"""PostgreSQL-specific behaviour of the store: migrations, concurrent start-up, the pool, URLs.
(The shared store contract runs against PostgreSQL in tests/verifier via the store fixture.)"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import psycopg
import pytest

from tokens.errors import InputError
from tokens.verifier import MemoryStore, Policy, SQLiteStore, StoreSchemaError
from tokens.verifier.model import Credential, Kind
from tokens.verifier.pgstore import MIGRATIONS, SCHEMA_VERSION, PostgresStore, PostgresStoreError
from tokens.verifier.stores import describe_url, open_store

pytestmark = pytest.mark.postgres

SECRET = b"12345678901234567890"


def _cred(serial: str) -> Credential:
    return Credential(serial, Kind.TOTP, SECRET, created_at=1.0, updated_at=1.0)


def test_migrates_an_old_schema_keeping_rows(fresh_postgres_url: str) -> None:
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:  # a database left by version 1
        conn.execute("CREATE TABLE schema_version (version integer PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute(MIGRATIONS[1])
        conn.execute("INSERT INTO schema_version (version) VALUES (1)")
        conn.execute("INSERT INTO credentials (serial, kind, secret, algorithm, digits, period, t0, counter,"
                     " status, last_step, created_at, updated_at) VALUES"
                     " ('OLD', 'totp', %s, 'SHA1', 6, 30, 0, 0, 'active', 41, 1, 1)", (SECRET,))
    with PostgresStore(fresh_postgres_url, pool_size=2) as store:
        assert store.schema_version() == SCHEMA_VERSION >= 2
        old = store.get("OLD")
        assert old is not None and old.last_step == 41 and old.secret == SECRET
        assert old.rate_hint_ppm == 0.0
        assert store.accept("OLD", 42, 0, 10.0, 8) and not store.accept("OLD", 42, 0, 11.0, 8)


def test_nodes_starting_together_migrate_once(fresh_postgres_url: str) -> None:
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        try:
            barrier.wait(timeout=30)
            stores.append(PostgresStore(fresh_postgres_url, pool_size=1))
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors and len(stores) == 6
        with psycopg.connect(fresh_postgres_url) as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1))
    finally:
        for s in stores:
            s.close()


def test_newer_schema_is_refused(fresh_postgres_url: str) -> None:
    PostgresStore(fresh_postgres_url, pool_size=1).close()
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreSchemaError, match=f"schema version {SCHEMA_VERSION + 1}"):
        PostgresStore(fresh_postgres_url, pool_size=1)


def _race_accept(store: PostgresStore, step: int, barrier: threading.Barrier, wins: list[bool]) -> None:
    barrier.wait(timeout=30)
    wins.append(store.accept("C", step, 0, float(step), 64))


def test_concurrent_accepts_through_separate_pools(fresh_postgres_url: str) -> None:
    """Eight threads, each with its own store (as separate nodes would have), race for each step."""
    stores = [PostgresStore(fresh_postgres_url, pool_size=1) for _ in range(8)]
    try:
        stores[0].insert(_cred("C"))
        assert stores[0].activate("C", 100, 0, 1.0)
        for step in (101, 102, 103):
            wins: list[bool] = []
            barrier = threading.Barrier(len(stores))
            threads = [threading.Thread(target=_race_accept, args=(s, step, barrier, wins)) for s in stores]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            assert sorted(wins) == [False] * 7 + [True]
        assert [o.step for o in stores[1].history("C")] == [100, 101, 102, 103]
    finally:
        for s in stores:
            s.close()


def test_failures_count_atomically_across_pools(fresh_postgres_url: str) -> None:
    stores = [PostgresStore(fresh_postgres_url, pool_size=1) for _ in range(4)]
    policy = Policy(throttle_after=0, lockout_after=0)
    try:
        stores[0].insert(_cred("F"))

        def fail_ten(s: PostgresStore) -> None:
            for _ in range(10):
                s.record_failure("F", 5.0, policy)

        threads = [threading.Thread(target=fail_ten, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        cred = stores[0].get("F")
        assert cred is not None and cred.failures == 40
    finally:
        for s in stores:
            s.close()


def test_pool_size_is_the_connection_limit(fresh_postgres_url: str) -> None:
    with PostgresStore(fresh_postgres_url, pool_size=3, min_pool=1) as store:
        stats = store.pool_stats()
        assert stats["pool_max"] == 3 and stats["pool_min"] == 1


def test_unreachable_server_fails_at_once() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PostgresStoreError, match="cannot connect") as e:
        PostgresStore(f"postgresql://u:hunter2@127.0.0.1:{port}/x", connect_timeout=2)
    assert "hunter2" not in str(e.value)


def test_open_store_by_url(tmp_path: Path, fresh_postgres_url: str) -> None:
    stores = [open_store(f"sqlite://{tmp_path / 'a.db'}"), open_store(tmp_path / "b.db"),
              open_store("memory:"), open_store(fresh_postgres_url, pool_size=1)]
    try:
        assert [type(s) for s in stores] == [SQLiteStore, SQLiteStore, MemoryStore, PostgresStore]
        assert (tmp_path / "a.db").exists() and (tmp_path / "b.db").exists()
    finally:
        for s in stores:
            s.close()
    with pytest.raises(InputError, match="unknown store URL scheme 'mysql'"):
        open_store("mysql://x/y")
    assert describe_url("postgresql://bob:pw@db.example:5433/tok") == "postgresql://bob@db.example:5433/tok"
    assert describe_url("/var/x.db") == "sqlite:///var/x.db"
