"""Session fixtures that start real servers for the tests that need them.

``postgres_cluster`` starts ONE throw-away PostgreSQL cluster per test session (initdb into a temp
dir, a free loopback port, stopped and deleted at the end); ``postgres_url`` is the URL of a
database in it.  ``fresh_postgres_url`` gives each test its own empty schema in that database
(the URL carries ``options=-csearch_path=<schema>``), so tests never see each other's tables.
When the server binaries are missing, tests using these fixtures are skipped with the reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tokens.service.pgcluster import PostgresUnavailable, TempPostgres

_schema_ids = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[TempPostgres]:
    try:
        pg = TempPostgres()
        pg.start()
    except PostgresUnavailable as e:
        pytest.skip(f"PostgreSQL not available: {e}")
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: TempPostgres) -> str:
    """URL of a database ``tokensim_test`` in the session's throw-away cluster."""
    return postgres_cluster.create_database("tokensim_test")


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> str:
    """A URL whose search_path is a new, empty schema: one clean store per test."""
    import psycopg

    schema = f"t{next(_schema_ids)}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{postgres_url}?options=-csearch_path%3D{schema}"
