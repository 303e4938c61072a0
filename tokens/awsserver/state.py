"""IAM bookkeeping of the local endpoint in SQLite: users, virtual MFA devices, access keys, sessions.

The tables live beside the verifier's in the same database file (prefix ``aws_``); the verifier
owns everything about codes (window, drift, replay, throttling), this module only who owns what.
One connection guarded by a lock: the app calls in from the event loop and worker threads.
Seeds are stored so a deactivated device can be enabled again, as on AWS.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS aws_users (
    name TEXT PRIMARY KEY, user_id TEXT NOT NULL, path TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS aws_mfa_devices (
    serial TEXT PRIMARY KEY, name TEXT NOT NULL, path TEXT NOT NULL, seed TEXT NOT NULL,
    user_name TEXT, enabled REAL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS aws_keys (
    access_key_id TEXT PRIMARY KEY, secret TEXT NOT NULL, user_name TEXT,
    session_token TEXT, expires REAL, mfa_serial TEXT, mfa_auth_time REAL, created REAL NOT NULL);
"""


@dataclass(frozen=True)
class User:
    name: str
    user_id: str
    path: str
    created: float


@dataclass(frozen=True)
class Device:
    serial: str
    name: str
    path: str
    seed: str = ""  # base32 text
    user_name: str | None = None
    enabled: float | None = None
    created: float = 0.0


@dataclass(frozen=True)
class Key:
    """Long-term access key (session_token None) or session credentials with their MFA context."""

    access_key_id: str
    secret: str
    user_name: str | None  # None: the account root
    session_token: str | None = None
    expires: float | None = None
    mfa_serial: str | None = None
    mfa_auth_time: float | None = None
    created: float = 0.0

    @property
    def is_session(self) -> bool:
        return self.session_token is not None


class State:
    """Users, devices and keys of one simulated account."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- users
    def add_user(self, u: User) -> bool:
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO aws_users VALUES (?,?,?,?)",
                             (u.name, u.user_id, u.path, u.created))
            return cur.rowcount == 1

    def user(self, name: str) -> User | None:
        with self._lock:
            row = self._db.execute("SELECT name, user_id, path, created FROM aws_users WHERE name=?",
                                   (name,)).fetchone()
        return User(*row) if row else None

    # -- devices
    def add_device(self, d: Device) -> bool:
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO aws_mfa_devices VALUES (?,?,?,?,?,?,?)",
                             (d.serial, d.name, d.path, d.seed, d.user_name, d.enabled, d.created))
            return cur.rowcount == 1

    def device(self, serial: str) -> Device | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM aws_mfa_devices WHERE serial=?", (serial,)).fetchone()
        return Device(*row) if row else None

    def devices(self, user_name: str | None = None) -> list[Device]:
        with self._lock:
            if user_name is None:
                rows = self._db.execute("SELECT * FROM aws_mfa_devices ORDER BY serial").fetchall()
            else:
                rows = self._db.execute("SELECT * FROM aws_mfa_devices WHERE user_name=? ORDER BY serial",
                                        (user_name,)).fetchall()
        return [Device(*r) for r in rows]

    def assign(self, serial: str, user_name: str, at: float) -> bool:
        """Compare-and-set: only an unassigned device is assigned."""
        with self._tx() as db:
            cur = db.execute("UPDATE aws_mfa_devices SET user_name=?, enabled=? "
                             "WHERE serial=? AND user_name IS NULL", (user_name, at, serial))
            return cur.rowcount == 1

    def unassign(self, serial: str) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE aws_mfa_devices SET user_name=NULL, enabled=NULL "
                             "WHERE serial=? AND user_name IS NOT NULL", (serial,))
            return cur.rowcount == 1

    def delete_device(self, serial: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM aws_mfa_devices WHERE serial=? AND user_name IS NULL",
                              (serial,)).rowcount == 1

    # -- keys and sessions
    def add_key(self, k: Key) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO aws_keys VALUES (?,?,?,?,?,?,?,?)",
                       (k.access_key_id, k.secret, k.user_name, k.session_token, k.expires,
                        k.mfa_serial, k.mfa_auth_time, k.created))

    def key(self, access_key_id: str) -> Key | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM aws_keys WHERE access_key_id=?",
                                   (access_key_id,)).fetchone()
        return Key(*row) if row else None

    def sessions(self) -> list[Key]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM aws_keys WHERE session_token IS NOT NULL "
                                    "ORDER BY created").fetchall()
        return [Key(*r) for r in rows]
