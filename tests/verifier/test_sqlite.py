"""SQLite specifics: file mode, journal, schema version."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from tokens.verifier import SQLiteStore, StoreSchemaError, VerifierError
from tokens.verifier.sqlite import SCHEMA_VERSION


def test_file_is_private_wal_and_versioned(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "v.sqlite3"
    with SQLiteStore(path) as s:
        assert isinstance(s, SQLiteStore) and s.schema_version() == SCHEMA_VERSION == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreSchemaError, match="schema version"):
        SQLiteStore(path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(VerifierError, match="cannot open verifier database"):
        SQLiteStore(path)


def test_busy_database_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite3"
    with SQLiteStore(path, busy_timeout=0.05) as s:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(VerifierError, match="locked"):
                s.delete("anything")
            blocker.execute("ROLLBACK")
            assert s.delete("anything") is False, "the store is usable again afterwards"
        finally:
            blocker.close()


# the layout tokensim 1 created (frozen here: the store derives its tables from the record now)
_SCHEMA_V1 = """
CREATE TABLE credentials (
    serial TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('totp', 'hotp')),
    secret BLOB NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    t0 REAL NOT NULL,
    counter INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    last_step INTEGER,
    offset_steps INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    throttle_until REAL NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    resync_hint_step INTEGER,
    resync_hint_at REAL,
    issuer TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    enabled_at REAL,
    last_used_at REAL,
    last_failure_at REAL,
    updated_at REAL NOT NULL
);
CREATE TABLE drift_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    serial TEXT NOT NULL REFERENCES credentials(serial) ON DELETE CASCADE,
    at REAL NOT NULL,
    step INTEGER NOT NULL,
    offset_steps INTEGER NOT NULL
);
CREATE INDEX drift_history_serial ON drift_history (serial, id);
"""


def _layout(path: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        return sorted(tuple(r[1:]) for r in db.execute("PRAGMA table_info(credentials)"))
    finally:
        db.close()


def test_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_V1)
    db.execute("INSERT INTO credentials (serial, kind, secret, algorithm, digits, period, t0, counter,"
               " status, created_at, updated_at)"
               " VALUES ('OLD', 'totp', ?, 'SHA1', 6, 30, 0, 0, 'active', 1, 1)",
               (b"k" * 20,))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with SQLiteStore(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        cred = s.get("OLD")
        assert cred is not None and cred.rate_hint_ppm == 0.0 and cred.secret == b"k" * 20
        assert s.resync("OLD", 10, 1, 2.0, rate_ppm=37.5)
        again = s.get("OLD")
        assert again is not None and again.rate_hint_ppm == 37.5


def test_migrated_layout_equals_a_fresh_one(tmp_path: Path) -> None:
    """Columns come from the Credential record: an upgraded version-1 table ends up with exactly
    the columns (names and types) of a table created new."""
    old = tmp_path / "old.sqlite3"
    db = sqlite3.connect(old)
    db.executescript(_SCHEMA_V1)
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    SQLiteStore(old).close()
    SQLiteStore(tmp_path / "new.sqlite3").close()
    got, fresh = _layout(old), _layout(tmp_path / "new.sqlite3")
    assert [c[0] for c in got] == [c[0] for c in fresh]
    assert [c[:2] for c in got] == [c[:2] for c in fresh]
