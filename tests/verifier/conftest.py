"""Fixtures for the verifier tests.

``store`` is parametrized over every store implementation; a new backend (PostgreSQL) adds a param
here and the whole contract suite runs against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tokens.clock import ManualClock
from tokens.verifier import MemoryStore, Policy, SQLiteStore, Store, Verifier

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SECRET = b"12345678901234567890"

StoreFactory = Callable[[], Store]


def _memory(tmp_path: Path) -> StoreFactory:
    shared = MemoryStore()  # "reopening" a memory store returns the same one
    return lambda: shared


def _sqlite(tmp_path: Path) -> StoreFactory:
    return lambda: SQLiteStore(tmp_path / "verifier.sqlite3")


STORE_KINDS = {"memory": _memory, "sqlite": _sqlite}


def _postgres(request: pytest.FixtureRequest) -> StoreFactory:
    """A fresh schema in the session's throw-away PostgreSQL (tests/_servers.py); skips without one."""
    from tokens.verifier.pgstore import PostgresStore

    url: str = request.getfixturevalue("fresh_postgres_url")
    return lambda: PostgresStore(url, pool_size=2)


@pytest.fixture(params=sorted([*STORE_KINDS, "postgres"]))
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens (another handle on) the same store; every handle is closed at teardown."""
    make = _postgres(request) if request.param == "postgres" else STORE_KINDS[request.param](tmp_path)
    opened: list[Store] = []

    def factory() -> Store:
        s = make()
        opened.append(s)
        return s

    yield factory
    for s in opened:
        s.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    return store_factory()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def verifier(store: Store, clock: ManualClock) -> Verifier:
    return Verifier(store, Policy(), clock=clock)
