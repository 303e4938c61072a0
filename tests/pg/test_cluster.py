"""The throw-away PostgreSQL cluster the store and service tests run on."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.postgres


def test_cluster_listens_on_loopback_only(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, connect_timeout=10) as conn:
        row = conn.execute("SELECT current_setting('listen_addresses'), current_database(), "
                           "inet_server_addr()::text").fetchone()
    assert row is not None
    assert row[0] == "127.0.0.1"
    assert row[1] == "tokensim_test"
    assert row[2].startswith("127.0.0.1")


def test_fresh_schemas_are_isolated(fresh_postgres_url: str, postgres_url: str) -> None:
    with psycopg.connect(fresh_postgres_url, autocommit=True, connect_timeout=10) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()
        conn.execute("CREATE TABLE probe (x int)")
        conn.execute("INSERT INTO probe VALUES (1)")
    assert schema is not None and schema[0].startswith("t")
    with psycopg.connect(postgres_url, connect_timeout=10) as conn:
        # the same unqualified name is not visible outside that schema
        visible = conn.execute("SELECT to_regclass('probe')").fetchone()
        qualified = conn.execute(f"SELECT count(*) FROM {schema[0]}.probe").fetchone()
    assert visible == (None,)
    assert qualified == (1,)


def test_missing_binaries_give_a_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens.service import pgcluster

    monkeypatch.setattr(pgcluster.shutil, "which", lambda name: None)
    monkeypatch.setattr(pgcluster.glob, "glob", lambda pattern: [])
    with pytest.raises(pgcluster.PostgresUnavailable, match=r"initdb, pg_ctl.*install the 'postgresql'"):
        pgcluster.find_bindir()


def test_newest_server_version_is_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens.service import pgcluster

    monkeypatch.setattr(pgcluster.shutil, "which", lambda name: None)
    monkeypatch.setattr(pgcluster.glob, "glob", lambda pattern: ["/usr/lib/postgresql/9/bin",
                                                                 "/usr/lib/postgresql/16/bin",
                                                                 "/usr/lib/postgresql/15/bin"])
    monkeypatch.setattr(pgcluster.os, "access", lambda path, mode: True)
    assert str(pgcluster.find_bindir()) == "/usr/lib/postgresql/16/bin"
