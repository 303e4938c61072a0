"""The embedded default store: one SQLite file, WAL journal, one short transaction per write.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``, so every commit (an accepted step, a
failure) is fsynced to the WAL before the call returns; a crash or power loss after ``accept``
returned True cannot resurrect the accepted code.  Writers take the lock up front
(``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` for each other.  Replay protection is the
conditional ``UPDATE ... WHERE last_step < ?`` whose row count says who won.

Each process (and each thread, unless it shares the object) opens its own :class:`SQLiteStore`.
Schema version lives in ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from ..otp import Algorithm
from .errors import CredentialExistsError, StoreSchemaError, UnknownCredentialError, VerifierError
from .model import Credential, Kind, Observation, Status, ThrottleState
from .policy import Policy
from .store import Store

SCHEMA_VERSION = 2

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

# version -> statements that bring a database from version-1 to version
_MIGRATIONS = {
    1: _SCHEMA_V1,
    2: "ALTER TABLE credentials ADD COLUMN rate_hint_ppm REAL NOT NULL DEFAULT 0;",
}

_COLUMNS = ("serial, kind, secret, algorithm, digits, period, t0, counter, status, last_step, offset_steps, "
            "failures, throttle_until, locked, resync_hint_step, resync_hint_at, rate_hint_ppm, issuer, "
            "account, created_at, enabled_at, last_used_at, last_failure_at, updated_at")

_CLEAR_THROTTLE = "failures = 0, throttle_until = 0, resync_hint_step = NULL, resync_hint_at = NULL"


def _row_to_credential(r: sqlite3.Row | tuple[object, ...]) -> Credential:
    (serial, kind, secret, algorithm, digits, period, t0, counter, status, last_step, offset_steps,
     failures, throttle_until, locked, hint_step, hint_at, rate_hint, issuer, account, created_at, enabled_at,
     last_used_at, last_failure_at, updated_at) = tuple(r)
    return Credential(
        serial=str(serial), kind=Kind(kind), secret=bytes(secret),
        algorithm=Algorithm(algorithm), digits=int(digits), period=int(period),
        t0=float(t0), counter=int(counter), status=Status(status),
        last_step=None if last_step is None else int(last_step),
        offset_steps=int(offset_steps), failures=int(failures),
        throttle_until=float(throttle_until), locked=bool(locked),
        resync_hint_step=None if hint_step is None else int(hint_step),
        resync_hint_at=None if hint_at is None else float(hint_at), rate_hint_ppm=float(rate_hint),
        issuer=str(issuer), account=str(account), created_at=float(created_at),
        enabled_at=None if enabled_at is None else float(enabled_at),
        last_used_at=None if last_used_at is None else float(last_used_at),
        last_failure_at=None if last_failure_at is None else float(last_failure_at),
        updated_at=float(updated_at),
    )


class SQLiteStore(Store):
    """A :class:`Store` in one SQLite file (created 0600 on first use)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0,
                 synchronous: str = "full") -> None:
        """``synchronous="full"`` (default) fsyncs every commit: an accepted step survives power
        loss.  ``"normal"`` (WAL) fsyncs only at checkpoints: an accepted step still survives a
        crash or kill of the process, but the last commits can be lost if the machine loses power,
        reopening a replay window for the codes accepted just before it."""
        if synchronous.lower() not in ("full", "normal"):
            raise VerifierError(f"synchronous must be 'full' or 'normal', not {synchronous!r}")
        self.synchronous = synchronous.lower()
        self._batch_depth = 0
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # secrets inside: never world-readable
            os.close(fd)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False)
        except (OSError, sqlite3.Error) as e:
            raise VerifierError(f"cannot open verifier database {self.path}: {e}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise VerifierError(f"cannot open verifier database {self.path}: {e}") from None
        except BaseException:
            self._db.close()
            raise

    # -- plumbing
    def _migrate(self) -> None:
        with self._tx():
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreSchemaError(
                    f"{self.path} has schema version {version}; this tokensim knows up to {SCHEMA_VERSION}")
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for stmt in _MIGRATIONS[target].split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
            if version != SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """Serialise use of the connection; database errors become VerifierError (one CLI line)."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as e:
                raise VerifierError(f"verifier database {self.path}: {e}") from None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: every operation inside runs in one write transaction (each in its own
        savepoint, so each keeps its all-or-nothing effect) and all are made durable by one
        COMMIT — one fsync for the whole batch.  Callers must not report results before this
        context has exited without error."""
        with self._guard() as db:
            if self._batch_depth:
                self._batch_depth += 1
                try:
                    yield
                finally:
                    self._batch_depth -= 1
                return
            db.execute("BEGIN IMMEDIATE")
            self._batch_depth = 1
            try:
                yield
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                self._batch_depth = 0
            db.execute("COMMIT")

    @contextlib.contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; writers take the write lock up front (BEGIN IMMEDIATE).  Inside
        :meth:`batch` it is a savepoint of the batch's transaction instead."""
        with self._guard() as db:
            if self._batch_depth:
                db.execute("SAVEPOINT op")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK TO op")
                    db.execute("RELEASE op")
                    raise
                db.execute("RELEASE op")
                return
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def schema_version(self) -> int:
        with self._guard():
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- credentials
    def insert(self, cred: Credential) -> None:
        c = cred
        try:
            with self._tx() as db:
                db.execute(
                    f"INSERT INTO credentials ({_COLUMNS}) VALUES ({', '.join('?' * 24)})",
                    (c.serial, c.kind.value, c.secret, c.algorithm.value, c.digits, c.period, c.t0,
                     c.counter, c.status.value, c.last_step, c.offset_steps, c.failures, c.throttle_until,
                     int(c.locked), c.resync_hint_step, c.resync_hint_at, c.rate_hint_ppm, c.issuer,
                     c.account, c.created_at, c.enabled_at, c.last_used_at, c.last_failure_at, c.updated_at))
        except sqlite3.IntegrityError:
            raise CredentialExistsError(f"credential {cred.serial!r} already exists") from None

    def get(self, serial: str) -> Credential | None:
        with self._guard():
            row = self._db.execute(f"SELECT {_COLUMNS} FROM credentials WHERE serial = ?",
                                   (serial,)).fetchone()
        return None if row is None else _row_to_credential(row)

    def credentials(self) -> list[Credential]:
        with self._guard():
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM credentials ORDER BY serial").fetchall()
        return [_row_to_credential(r) for r in rows]

    def delete(self, serial: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM credentials WHERE serial = ?", (serial,)).rowcount == 1

    def set_status(self, serial: str, status: Status, at: float) -> bool:
        with self._tx() as db:
            return db.execute("UPDATE credentials SET status = ?, updated_at = ? WHERE serial = ?",
                              (status.value, at, serial)).rowcount == 1

    # -- compare-and-set
    def _restart_history(self, db: sqlite3.Connection, serial: str, step: int, offset: int,
                         at: float) -> None:
        db.execute("DELETE FROM drift_history WHERE serial = ?", (serial,))
        db.execute("INSERT INTO drift_history (serial, at, step, offset_steps) VALUES (?, ?, ?, ?)",
                   (serial, at, step, offset))

    def activate(self, serial: str, step: int, offset: int, at: float) -> bool:
        with self._tx() as db:
            n = db.execute(
                f"UPDATE credentials SET status = 'active', last_step = ?, offset_steps = ?, enabled_at = ?,"
                f" locked = 0, rate_hint_ppm = 0, {_CLEAR_THROTTLE}, updated_at = ?"
                " WHERE serial = ? AND status = 'pending'",
                (step, offset, at, at, serial)).rowcount
            if n == 1:
                self._restart_history(db, serial, step, offset, at)
            return n == 1

    def accept(self, serial: str, step: int, offset: int, at: float, history_size: int) -> bool:
        with self._tx() as db:
            n = db.execute(
                "UPDATE credentials SET last_step = ?, offset_steps = ?, last_used_at = ?,"
                f" {_CLEAR_THROTTLE}, updated_at = ? WHERE serial = ? AND status = 'active' AND locked = 0"
                " AND (last_step IS NULL OR last_step < ?)",
                (step, offset, at, at, serial, step)).rowcount
            if n == 1:
                db.execute("INSERT INTO drift_history (serial, at, step, offset_steps) VALUES (?, ?, ?, ?)",
                           (serial, at, step, offset))
                db.execute("DELETE FROM drift_history WHERE serial = ? AND id NOT IN"
                           " (SELECT id FROM drift_history WHERE serial = ? ORDER BY id DESC LIMIT ?)",
                           (serial, serial, max(0, history_size)))
            return n == 1

    def resync(self, serial: str, step: int, offset: int, at: float, rate_ppm: float = 0.0) -> bool:
        with self._tx() as db:
            n = db.execute(
                "UPDATE credentials SET last_step = ?, offset_steps = ?, rate_hint_ppm = ?,"
                f" {_CLEAR_THROTTLE}, updated_at = ? WHERE serial = ? AND status = 'active' AND locked = 0"
                " AND (last_step IS NULL OR last_step < ?)",
                (step, offset, float(rate_ppm), at, serial, step)).rowcount
            if n == 1:
                self._restart_history(db, serial, step, offset, at)
            return n == 1

    # -- failures
    def record_failure(self, serial: str, at: float, policy: Policy) -> ThrottleState:
        with self._tx() as db:
            row = db.execute(
                "UPDATE credentials SET failures = failures + 1, last_failure_at = ?, updated_at = ?"
                " WHERE serial = ? RETURNING failures, locked", (at, at, serial)).fetchone()
            if row is None:
                raise UnknownCredentialError(f"no credential {serial!r}")
            failures = int(row[0])
            until, locked = policy.after_failure(failures, at)
            locked = locked or bool(row[1])
            db.execute("UPDATE credentials SET throttle_until = ?, locked = ? WHERE serial = ?",
                       (until, int(locked), serial))
        return ThrottleState(failures, until, locked)

    def unlock(self, serial: str, at: float) -> bool:
        with self._tx() as db:
            return db.execute(
                "UPDATE credentials SET failures = 0, throttle_until = 0, locked = 0, updated_at = ?"
                " WHERE serial = ?", (at, serial)).rowcount == 1

    def set_resync_hint(self, serial: str, step: int | None, at: float | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE credentials SET resync_hint_step = ?, resync_hint_at = ? WHERE serial = ?",
                       (step, at, serial))

    # -- history
    def history(self, serial: str) -> list[Observation]:
        with self._guard():
            rows = self._db.execute(
                "SELECT at, step, offset_steps FROM drift_history WHERE serial = ? ORDER BY id",
                (serial,)).fetchall()
        return [Observation(float(a), int(s), int(o)) for a, s, o in rows]

    def snapshot(self, serial: str) -> tuple[Credential, list[Observation]] | None:
        with self._tx(write=False):
            cred = self.get(serial)
            return None if cred is None else (cred, self.history(serial))
