"""The embedded default store: one SQLite file, WAL journal, one short transaction per write.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``, so every commit (an accepted step, a
failure) is fsynced to the WAL before the call returns; a crash or power loss after ``accept``
returned True cannot resurrect the accepted code.  Writers take the lock up front
(``BEGIN IMMEDIATE``) and wait up to ``busy_timeout`` for each other.  Replay protection is the
conditional ``UPDATE ... WHERE last_step < ?`` whose row count says who won.

A verification is one write transaction (:meth:`SQLiteStore.attempt`): the reserving ``UPDATE
... RETURNING`` (row and drift history in one statement), the code check in Python, then the
accepting ``UPDATE`` (or none) and one COMMIT — one fsync.  The drift history lives in the
credential's row (column ``history``: packed ``(at, step, offset)`` records, newest last), so an
accept is one statement too.  Threads sharing a store group-commit (:class:`_GroupCommit`),
``batch()`` commits any number of operations at once.

Each process (and each thread, unless it shares the object) opens its own :class:`SQLiteStore`.
Schema version lives in ``PRAGMA user_version``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType

from ..keyring import Keyring, default_keyring
from . import columns
from .errors import CredentialExistsError, StoreSchemaError, UnknownCredentialError, VerifierError
from .model import Credential, Observation, Status, ThrottleState
from .policy import Policy
from .store import Attempt, Store

SCHEMA_VERSION = 3
# version 3: columns derived from the Credential record (tokens/verifier/columns.py), sealed seeds
# (secret_key), and the drift history moved from table drift_history into column ``history``

_COLUMNS = columns.column_list()
_SELECT = f"SELECT {_COLUMNS}, history FROM credentials"
_CLEAR_THROTTLE = "failures = 0, throttle_until = 0, resync_hint_step = NULL, resync_hint_at = NULL"
_SELECT_ONE = f"{_SELECT} WHERE serial = ?"
_SERIAL = columns.NAMES.index("serial")
_MANY = 250  # serials per reserve_many statement (well under SQLite's 32766 parameters)
_OBS = struct.Struct("<dqq")  # at, step, offset_steps
_HIST_CACHE = 4096
# accept (reserved=False, reserved=True): the statement text is built once, so sqlite3's statement
# cache finds it by identity of text on every verify
_ACCEPT = tuple(
    "UPDATE credentials SET last_step = ?, offset_steps = ?, last_used_at = ?,"
    f" {_CLEAR_THROTTLE}, locked = {'0' if reserved else 'locked'}, updated_at = ?,"
    " history = CAST(coalesce(substr(history, max(1, length(history) - ? + 1)), x'')"
    " || ? AS BLOB)"
    " WHERE serial = ? AND status = 'active'" + ("" if reserved else " AND locked = 0") +
    " AND (last_step IS NULL OR last_step < ?)" for reserved in (False, True))


def _pack(obs: Sequence[Observation]) -> bytes:
    return b"".join(_OBS.pack(o.at, o.step, o.offset_steps) for o in obs)


_unpacked: dict[bytes, list[Observation]] = {}


def _unpack(blob: bytes) -> list[Observation]:
    """The observations of a history blob (decoded ones are remembered: a blob never changes)."""
    hit = _unpacked.get(blob)
    if hit is None:
        hit = [Observation(a, s, o) for a, s, o in _OBS.iter_unpack(blob)]
        if len(_unpacked) >= _HIST_CACHE:
            _unpacked.clear()
        _unpacked[blob] = hit
    return list(hit)


class _Tx:
    """One transaction on the store's connection (a class, not a generator: it is on the hot
    path).  Nested inside another transaction of the store it joins it; an open group commit is
    finished first.  sqlite3 errors leave as VerifierError (IntegrityError stays as it is)."""

    __slots__ = ("nested", "store", "write")

    def __init__(self, store: SQLiteStore, write: bool) -> None:
        self.store = store
        self.write = write
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        st = self.store
        st._lock.acquire()
        try:
            db = st._db
            if st._depth:
                st._depth += 1
                self.nested = True
                return db
            if db.in_transaction:  # a group commit left open by another thread: commit it
                st._group._finish(st._group.generation, rollback=False)
            db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN DEFERRED")
            st._depth = 1
            return db
        except sqlite3.Error as e:
            st._lock.release()
            raise VerifierError(f"verifier database {st.path}: {e}") from None
        except BaseException:
            st._lock.release()
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        st = self.store
        try:
            st._depth -= 1
            if not self.nested:
                db = st._db
                if et is None:
                    db.execute("COMMIT")
                elif db.in_transaction:
                    db.execute("ROLLBACK")
        except sqlite3.Error as e:
            raise VerifierError(f"verifier database {st.path}: {e}") from None
        finally:
            st._lock.release()
        if ev is not None and isinstance(ev, sqlite3.Error) and not isinstance(ev, sqlite3.IntegrityError):
            raise VerifierError(f"verifier database {st.path}: {ev}") from None


class SQLiteStore(Store):
    """A :class:`Store` in one SQLite file (created 0600 on first use).

    Seeds are sealed with ``keyring`` (default: :func:`tokens.keyring.default_keyring`, resolved
    on first use)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 10.0,
                 synchronous: str = "full", keyring: Keyring | None = None) -> None:
        """``synchronous="full"`` (default) fsyncs every commit: an accepted step survives power
        loss.  ``"normal"`` (WAL) fsyncs only at checkpoints: an accepted step still survives a
        crash or kill of the process, but the last commits can be lost if the machine loses power,
        reopening a replay window for the codes accepted just before it."""
        if synchronous.lower() not in ("full", "normal"):
            raise VerifierError(f"synchronous must be 'full' or 'normal', not {synchronous!r}")
        self.synchronous = synchronous.lower()
        self._keyring = keyring
        self._depth = 0  # open transaction levels (batch, attempt, op) on this connection
        self.path = Path(path)
        self._lock = threading.RLock()
        self._group = _GroupCommit(self)
        self._reserve_sql: dict[tuple[Policy, Status], tuple[str, str, str]] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)  # secrets inside: never world-readable
            os.close(fd)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False, cached_statements=256)
        except (OSError, sqlite3.Error) as e:
            raise VerifierError(f"cannot open verifier database {self.path}: {e}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
            self._migrate()
        except (sqlite3.DatabaseError, VerifierError) as e:
            self._db.close()
            if isinstance(e, StoreSchemaError):
                raise
            msg = str(e).removeprefix(f"verifier database {self.path}: ")
            raise VerifierError(f"cannot open verifier database {self.path}: {msg}") from None
        except BaseException:
            self._db.close()
            raise

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = default_keyring()
        return self._keyring

    # -- plumbing
    def _migrate(self) -> None:
        with self._tx() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreSchemaError(
                    f"{self.path} has schema version {version}; this tokensim knows up to {SCHEMA_VERSION}")
            if version == 0:
                db.execute(columns.table_ddl(columns.SQLITE))
            else:
                have = [r[1] for r in db.execute("PRAGMA table_info(credentials)")]
                for stmt in columns.missing_columns(have, columns.SQLITE):
                    db.execute(stmt)
            have = [r[1] for r in db.execute("PRAGMA table_info(credentials)")]
            if "history" not in have:
                db.execute("ALTER TABLE credentials ADD COLUMN history BLOB NOT NULL DEFAULT x''")
            old = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'drift_history'")
            if old.fetchone():  # version <= 2 kept the history in a table of its own
                rows = db.execute("SELECT serial, at, step, offset_steps FROM drift_history"
                                  " ORDER BY serial, id")
                by_serial: dict[str, list[Observation]] = {}
                for serial, a, st, o in rows.fetchall():
                    by_serial.setdefault(serial, []).append(Observation(float(a), int(st), int(o)))
                for serial, obs in by_serial.items():
                    db.execute("UPDATE credentials SET history = ? WHERE serial = ?", (_pack(obs), serial))
                db.execute("DROP TABLE drift_history")
            if version != SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _tx(self, write: bool = True) -> _Tx:
        """One transaction; writers take the write lock up front (BEGIN IMMEDIATE).  Nested inside
        another transaction of this store (a batch, an attempt) it simply joins it."""
        return _Tx(self, write)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        """Serialise a read on the connection; database errors become VerifierError."""
        with self._lock:
            if not self._depth and self._db.in_transaction:  # a group commit left open: commit it
                self._group._finish(self._group.generation, rollback=False)
            try:
                yield self._db
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as e:
                raise VerifierError(f"verifier database {self.path}: {e}") from None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: every operation inside runs in one write transaction and all are made
        durable by one COMMIT — one fsync for the whole batch.  An operation that raises aborts
        the whole batch (nothing inside is committed).  Callers must not report results before
        this context has exited without error."""
        with self._tx():
            yield

    def schema_version(self) -> int:
        with self._guard():
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.ProgrammingError):  # already closed
                if not self._depth and self._db.in_transaction:
                    self._group._finish(self._group.generation, rollback=False)
            self._db.close()

    def _cred(self, row: Sequence[object]) -> Credential:
        return columns.from_row(row, lambda: self.keyring)

    # -- credentials
    def insert(self, cred: Credential) -> None:
        row = columns.to_row(cred, self.keyring, columns.SQLITE)
        try:
            with self._tx() as db:
                db.execute(f"INSERT INTO credentials ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
        except sqlite3.IntegrityError:
            raise CredentialExistsError(f"credential {cred.serial!r} already exists") from None

    def get(self, serial: str) -> Credential | None:
        with self._guard():
            row = self._db.execute(_SELECT_ONE, (serial,)).fetchone()
        return None if row is None else self._cred(row)

    def credentials(self) -> list[Credential]:
        with self._guard():
            rows = self._db.execute(f"{_SELECT} ORDER BY serial").fetchall()
        return [self._cred(r) for r in rows]

    def reseal(self, keyring: Keyring) -> int:
        """Seal every seed again with ``keyring``'s primary key (key rotation); returns how many."""
        n = 0
        with self._tx() as db:
            for row in db.execute(_SELECT).fetchall():
                cred = self._cred(row)
                ident, sealed = keyring.seal(cred.secret, cred.serial)
                db.execute(f"UPDATE credentials SET secret = ?, {columns.SECRET_KEY} = ? WHERE serial = ?",
                           (sealed, ident, cred.serial))
                n += 1
        self._keyring = keyring
        return n

    def delete(self, serial: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM credentials WHERE serial = ?", (serial,)).rowcount == 1

    def set_status(self, serial: str, status: Status, at: float) -> bool:
        with self._tx() as db:
            return db.execute("UPDATE credentials SET status = ?, updated_at = ? WHERE serial = ?",
                              (status.value, at, serial)).rowcount == 1

    # -- compare-and-set
    def activate(self, serial: str, step: int, offset: int, at: float) -> bool:
        with self._tx() as db:
            return db.execute(
                f"UPDATE credentials SET status = 'active', last_step = ?, offset_steps = ?, enabled_at = ?,"
                f" locked = 0, rate_hint_ppm = 0, rate_hint_sd_ppm = 0, {_CLEAR_THROTTLE}, updated_at = ?,"
                " history = ?"
                " WHERE serial = ? AND status = 'pending'",
                (step, offset, at, at, _OBS.pack(at, step, offset), serial)).rowcount == 1

    def accept(self, serial: str, step: int, offset: int, at: float, history_size: int, *,
               reserved: bool = False) -> bool:
        keep = max(0, history_size - 1) * _OBS.size  # bytes of older observations kept
        new = _OBS.pack(at, step, offset) if history_size > 0 else b""
        with self._tx() as db:
            cur = db.execute(_ACCEPT[reserved], (step, offset, at, at, keep, new, serial, step))
            return cur.rowcount == 1

    def resync(self, serial: str, step: int, offset: int, at: float, rate_ppm: float = 0.0, *,
               unlock: bool = False, rate_sd_ppm: float = 0.0) -> bool:
        with self._tx() as db:
            return db.execute(
                "UPDATE credentials SET last_step = ?, offset_steps = ?, rate_hint_ppm = ?,"
                f" rate_hint_sd_ppm = ?, locked = 0, {_CLEAR_THROTTLE}, updated_at = ?, history = ?"
                " WHERE serial = ? AND status = 'active'" + ("" if unlock else " AND locked = 0")
                + " AND (last_step IS NULL OR last_step < ?)",
                (step, offset, float(rate_ppm), float(rate_sd_ppm), at, _OBS.pack(at, step, offset), serial,
                 step)).rowcount == 1

    # -- failures
    def note_failure(self, serial: str, at: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE credentials SET last_failure_at = ? WHERE serial = ?", (at, serial))

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

    def _sql(self, policy: Policy, status: Status = Status.ACTIVE) -> tuple[str, str, str]:
        """(reserve one, release one, reserve many ``... serial IN (%s) RETURNING``) for ``policy``.

        The single reserve is a plain conditional UPDATE and the row is read by the SELECT after
        it (same write transaction): in SQLite a ``RETURNING`` clause costs more per statement
        (~15 µs here) than the UPDATE and the SELECT together (~9 µs); for a group of rows the
        one ``RETURNING`` statement is the cheapest (~4 µs a row)."""
        sql = self._reserve_sql.get((policy, status))
        if sql is None:
            set_, gate = columns.reserve_sql(columns.SQLITE, policy, "?1", status)
            sql = (f"UPDATE credentials SET {set_} WHERE serial = ?2 AND {gate}",
                   f"UPDATE credentials SET {columns.release_set(columns.SQLITE, policy)}"
                   " WHERE serial = ? AND failures > 0",
                   f"UPDATE credentials SET {set_} WHERE serial IN (%s) AND {gate}"
                   f" RETURNING {_COLUMNS}, history")
            self._reserve_sql[(policy, status)] = sql
        return sql

    def reserve(self, serial: str, at: float, policy: Policy,
                status: Status = Status.ACTIVE) -> Attempt | None:
        sql = self._sql(policy, status)[0]
        with self._tx() as db:
            reserved = db.execute(sql, (at, serial)).rowcount == 1
            row = db.execute(_SELECT_ONE, (serial,)).fetchone()
            if row is None:
                return None
        return Attempt(self._cred(row), _unpack(row[-1]), reserved)

    bulk_reserve = True

    def reserve_many(self, serials: Sequence[str], at: float, policy: Policy) -> list[Attempt | None]:
        """``reserve`` of every serial (all distinct), in one write transaction and, per chunk of
        up to :data:`_MANY` serials, one ``UPDATE ... WHERE serial IN (...) RETURNING`` (the
        rows the throttle refuses or that do not exist are read after it)."""
        if len(set(serials)) != len(serials):
            raise ValueError("reserve_many needs distinct serials")
        sql = self._sql(policy)[2]
        out: dict[str, Attempt] = {}
        with self._tx() as db:
            for i in range(0, len(serials), _MANY):
                part = serials[i:i + _MANY]
                marks = ", ".join(f"?{k + 2}" for k in range(len(part)))
                for row in db.execute(sql % marks, (at, *part)).fetchall():
                    out[row[_SERIAL]] = Attempt(self._cred(row), _unpack(row[-1]), True)
            for serial in serials:
                if serial not in out:
                    row = db.execute(_SELECT_ONE, (serial,)).fetchone()
                    if row is not None:
                        out[serial] = Attempt(self._cred(row), _unpack(row[-1]), False)
        return [out.get(s) for s in serials]

    def release(self, serial: str, at: float, policy: Policy) -> None:
        sql = self._sql(policy)[1]
        with self._tx() as db:
            db.execute(sql, (serial,))

    def attempt(self, serial: str, at: float, policy: Policy) -> AbstractContextManager[Attempt | None]:
        """The whole attempt in one write transaction: reserve, the caller's check, accept or
        release — one commit (one fsync, shared with concurrent threads), or none of it on an
        exception.  Inside a batch it joins the batch's transaction."""
        if self._depth:  # as _GroupCommit.transaction does, without two generator frames
            return _JoinedAttempt(self, serial, at, policy)
        return self._group_attempt(serial, at, policy)

    @contextlib.contextmanager
    def _group_attempt(self, serial: str, at: float, policy: Policy) -> Iterator[Attempt | None]:
        with self._group.transaction():
            yield self.reserve(serial, at, policy)

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
            row = self._db.execute("SELECT history FROM credentials WHERE serial = ?", (serial,)).fetchone()
        return [] if row is None else _unpack(row[0])

    def snapshot(self, serial: str) -> tuple[Credential, list[Observation]] | None:
        with self._guard():
            row = self._db.execute(_SELECT_ONE, (serial,)).fetchone()
        return None if row is None else (self._cred(row), _unpack(row[-1]))


class _JoinedAttempt:
    """An attempt inside an open batch: one nested transaction around reserve and the caller's
    check (a class: it is on the hot path of the service's group commit)."""

    __slots__ = ("at", "policy", "serial", "store", "tx")

    def __init__(self, store: SQLiteStore, serial: str, at: float, policy: Policy) -> None:
        self.store, self.serial, self.at, self.policy = store, serial, at, policy
        self.tx = _Tx(store, True)

    def __enter__(self) -> Attempt | None:
        self.tx.__enter__()
        try:
            return self.store.reserve(self.serial, self.at, self.policy)
        except BaseException as e:
            self.tx.__exit__(type(e), e, e.__traceback__)
            raise

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.tx.__exit__(et, ev, tb)


class _GroupCommit:
    """Group commit for threads sharing one store: an attempt that finishes while other threads
    wait for the connection leaves its transaction open for them and waits; the last one of the
    group commits (one fsync) and wakes them all.  Nobody's result is released before the commit
    that made it durable, and a failed commit fails every attempt of the group."""

    MAX_GROUP = 256

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.cond = threading.Condition(threading.Lock())
        self.waiting = 0  # threads queued for the connection
        self.generation = 0  # number of the open group transaction
        self.done: dict[int, BaseException | None] = {}
        self.members = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        st = self.store
        if st._depth:  # inside a batch (or a nested call): the outer transaction commits
            with st._tx():
                yield
            return
        with self.cond:
            self.waiting += 1
        st._lock.acquire()
        with self.cond:
            self.waiting -= 1
        gen = -1
        try:
            if not st._db.in_transaction:
                st._db.execute("BEGIN IMMEDIATE")
                self.members = 0
                self.generation += 1
            gen = self.generation
            self.members += 1
            st._depth = 1
            try:
                yield
            except BaseException:
                st._depth = 0
                self._finish(gen, rollback=True)
                raise
            st._depth = 0
            with self.cond:
                share = self.waiting > 0 and self.members < self.MAX_GROUP
            if not share:
                self._finish(gen, rollback=False)
        except sqlite3.Error as e:
            raise VerifierError(f"verifier database {st.path}: {e}") from None
        finally:
            st._lock.release()
        # the group stays open for the threads waiting behind us: wait until it is committed
        with self.cond:
            while gen not in self.done:
                if not self.cond.wait(timeout=5.0) and gen not in self.done \
                        and st._lock.acquire(blocking=False):  # nobody came after all: commit it
                    try:
                        if gen == self.generation and gen not in self.done and st._db.in_transaction:
                            self.cond.release()
                            try:
                                self._finish(gen, rollback=False)
                            finally:
                                self.cond.acquire()
                    finally:
                        st._lock.release()
            err = self.done[gen]
        if err is not None:
            raise VerifierError(f"verifier database {st.path}: group commit failed: {err}")

    def _finish(self, gen: int, rollback: bool) -> None:
        """Commit (or roll back) the open group transaction; record the outcome for its members.
        The caller holds the connection lock."""
        db = self.store._db
        err: BaseException | None = None
        try:
            if db.in_transaction:
                db.execute("ROLLBACK" if rollback else "COMMIT")
        except sqlite3.Error as e:
            err = e
            if db.in_transaction:
                db.execute("ROLLBACK")
        if rollback and err is None:
            err = RuntimeError("an attempt of the group failed; the group was rolled back")
        with self.cond:
            self.done[gen] = err
            for old in [g for g in self.done if g < gen - 1024]:
                del self.done[old]
            self.cond.notify_all()
