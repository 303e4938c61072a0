"""The shared store for many verifier nodes: PostgreSQL through psycopg 3 and a connection pool.

Same contract as the SQLite store (see :mod:`tokens.verifier.store`).  Every operation is one
transaction on one pooled (autocommit) connection, and the hot ones are one statement — one round
trip: ``snapshot`` is one SELECT, ``accept`` one statement whose first part is the
compare-and-set and whose other parts (history insert and trim) run only if it matched:

    WITH upd AS (UPDATE credentials SET last_step = %(step)s ... WHERE serial = %(serial)s
                 AND status = 'active' AND NOT locked
                 AND (last_step IS NULL OR last_step < %(step)s) RETURNING serial),
         ins AS (INSERT INTO drift_history ... SELECT ... FROM upd), trim_ AS (DELETE ...)
    SELECT count(*) FROM upd

Under READ COMMITTED a concurrent UPDATE of the same row waits for the first writer's row lock
and then re-checks its WHERE clause against the committed row, so of N nodes presenting the same
step exactly one gets a row back.  A commit returns only after the WAL is flushed
(``synchronous_commit`` on, the server default): an accepted step survives a crash of the node
or of the database.

Schema: versioned migrations (table ``schema_version``) applied in one transaction under a
transaction-level advisory lock, so nodes starting at the same moment migrate exactly once.
Tables are created unqualified, i.e. in the first schema of the connection's ``search_path``
(``?options=-csearch_path%3Dname`` in the URL selects another one).

Connection loss (a database restart, a dropped connection) is retried once on a fresh connection.
A retried ``accept`` whose first commit did land reports False — "replayed" — never a second ok.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import InputError
from ..keyring import Keyring, default_keyring
from . import columns
from .errors import CredentialExistsError, PostgresStoreError, StoreSchemaError, UnknownCredentialError
from .model import Credential, Observation, Status, ThrottleState
from .policy import Policy
from .store import Attempt, Store

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore", "PostgresStoreError"]

T = TypeVar("T")

# Each entry upgrades the schema from version (n - 1) to n.  Never edit a released entry: append.
MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE credentials (
    serial text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('totp', 'hotp')),
    secret bytea NOT NULL,
    algorithm text NOT NULL,
    digits integer NOT NULL,
    period integer NOT NULL,
    t0 double precision NOT NULL,
    counter bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
    last_step bigint,
    offset_steps bigint NOT NULL DEFAULT 0,
    failures integer NOT NULL DEFAULT 0,
    throttle_until double precision NOT NULL DEFAULT 0,
    locked boolean NOT NULL DEFAULT false,
    resync_hint_step bigint,
    resync_hint_at double precision,
    issuer text NOT NULL DEFAULT '',
    account text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    enabled_at double precision,
    last_used_at double precision,
    last_failure_at double precision,
    updated_at double precision NOT NULL
);
CREATE TABLE drift_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial text NOT NULL REFERENCES credentials (serial) ON DELETE CASCADE,
    at double precision NOT NULL,
    step bigint NOT NULL,
    offset_steps bigint NOT NULL
);
CREATE INDEX drift_history_serial ON drift_history (serial, id);
""",
    2: """
ALTER TABLE credentials ADD COLUMN rate_hint_ppm double precision NOT NULL DEFAULT 0;
""",
}
# Version 3: the credentials columns are derived from the Credential record
# (tokens/verifier/columns.py); from here on a new field is added on open, by the derived
# ALTER TABLE, with no migration text to write.  A new database is created at the newest layout.
SCHEMA_VERSION = 3
# the drift history table has not changed since version 1: a new database creates it from there
_HISTORY_DDL = MIGRATIONS[1][MIGRATIONS[1].index("CREATE TABLE drift_history"):]

# pg_advisory_xact_lock key for migrations: any fixed 64-bit number ("tokensim" in ASCII)
_MIGRATION_LOCK = 0x746F6B656E73696D

_COLUMNS = columns.column_list()
_CLEAR_THROTTLE = "failures = 0, throttle_until = 0, resync_hint_step = NULL, resync_hint_at = NULL"
# CTE parts that replace a credential's history by the one observation of ``upd``
_RESTART_HISTORY = ("wipe AS (DELETE FROM drift_history WHERE serial IN (SELECT serial FROM upd)),"
                    " ins AS (INSERT INTO drift_history (serial, at, step, offset_steps)"
                    " SELECT serial, %(at)s, %(step)s, %(offset)s FROM upd)")


_HIST_AGG = ("(SELECT coalesce(array_agg(array[h.at, h.step, h.offset_steps] ORDER BY h.id), '{}')"
             " FROM drift_history h WHERE h.serial = {t}.serial)")


def _redact(url: str) -> str:
    """The URL without a password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://..."
    user = info.get("user", "")
    host = info.get("host", "")
    port = info.get("port", "")
    db = info.get("dbname", "")
    return f"postgresql://{user}{'@' if user else ''}{host}{':' if port else ''}{port}/{db}"


class PostgresStore(Store):
    """A :class:`Store` on a PostgreSQL database shared by any number of processes and machines.

    ``pool_size`` is the most connections this process opens (one per concurrent operation);
    ``min_pool`` are kept open.  ``timeout`` bounds the wait for a free connection (s).
    """

    def __init__(self, url: str, *, pool_size: int = 8, min_pool: int = 1, timeout: float = 10.0,
                 connect_timeout: float = 5.0, migrate: bool = True, keyring: Keyring | None = None) -> None:
        self.url = url
        self._keyring = keyring
        self._local = threading.local()  # the connection a batch() of this thread runs on
        self._reserve_sql: dict[tuple[Policy, Status], tuple[str, str]] = {}
        self._closed = False
        self._close_lock = threading.Lock()
        kwargs: dict[str, Any] = {"connect_timeout": max(1, round(connect_timeout)),
                                  "application_name": "tokensim-verifier", "autocommit": True}
        try:  # one direct connection first: a wrong URL or a down server fails at once, clearly
            psycopg.connect(url, **kwargs).close()
        except psycopg.ProgrammingError as e:
            raise PostgresStoreError(f"bad PostgreSQL URL {_redact(url)}: {e}") from None
        except psycopg.OperationalError as e:
            reason = " ".join(str(e).split())
            raise PostgresStoreError(f"cannot connect to {_redact(url)}: {reason}") from None
        try:
            self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
                url, min_size=min(min_pool, pool_size), max_size=pool_size, timeout=timeout,
                kwargs=kwargs,
                open=False, name="tokensim-verifier", reconnect_timeout=30.0)
        except psycopg.ProgrammingError as e:
            raise PostgresStoreError(f"bad PostgreSQL URL {_redact(url)}: {e}") from None
        try:
            self._pool.open(wait=True, timeout=timeout)
            if migrate:
                self._migrate()
        except PoolTimeout:
            self._pool.close()
            raise PostgresStoreError(f"cannot connect to {_redact(url)} within {timeout:g} s") from None
        except BaseException:
            self._pool.close()
            raise

    # -- plumbing
    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A pooled connection in autocommit mode: each statement is its own transaction."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except PoolTimeout as e:
            raise PostgresStoreError(f"no PostgreSQL connection available: {e}") from None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: every operation of this thread inside runs on one pooled connection in
        one transaction, made durable by one COMMIT (one WAL flush for the group).  Row locks
        taken by the reservations are held until then.  Any error (a deadlock with another
        group included) rolls the whole group back and is raised; nothing of it was committed."""
        if getattr(self._local, "conn", None) is not None:  # nested: the outer batch commits
            yield
            return
        try:
            with self._conn() as conn, conn.transaction():
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None
        except psycopg.DataError as e:
            raise InputError(f"PostgreSQL refused the value: {e}") from None
        except psycopg.Error as e:
            raise PostgresStoreError(f"PostgreSQL batch failed: {e}".strip()) from None

    def _run(self, op: Callable[[psycopg.Connection[tuple[Any, ...]]], T], *, tx: bool = False) -> T:
        """Run ``op`` (one statement, or with ``tx`` one BEGIN ... COMMIT block), once more on a
        fresh connection if the first one broke.  Inside :meth:`batch` it runs on the batch's
        connection and transaction, without retry."""
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            return op(pinned)
        for attempt in (1, 2):
            try:
                with self._conn() as conn:
                    if not tx:
                        return op(conn)
                    with conn.transaction():
                        return op(conn)
            except psycopg.DataError as e:  # e.g. a NUL in a serial: the caller's input
                raise InputError(f"PostgreSQL refused the value: {e}") from None
            except psycopg.OperationalError as e:
                if attempt == 2 or isinstance(e, psycopg.errors.QueryCanceled):
                    raise PostgresStoreError(f"PostgreSQL operation failed: {e}".strip()) from None
                self._pool.check()  # drop the other connections the same restart broke
        raise AssertionError("unreachable")

    def _migrate(self) -> None:
        def migrate(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                         " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise StoreSchemaError(f"{_redact(self.url)} has schema version {current}; "
                                       f"this tokensim knows up to {SCHEMA_VERSION}")
            if current == 0:  # a new database: the newest layout, derived from the record
                conn.execute(columns.table_ddl(columns.PG))
                conn.execute(_HISTORY_DDL)
            else:
                for version in range(current + 1, max(MIGRATIONS) + 1):
                    conn.execute(MIGRATIONS[version])
                have = [r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = 'credentials'"
                    " AND table_schema = current_schema()")]
                for stmt in columns.missing_columns(have, columns.PG):
                    conn.execute(stmt)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))

        self._run(migrate, tx=True)

    def schema_version(self) -> int:
        row = self._run(lambda c: c.execute("SELECT coalesce(max(version), 0) FROM schema_version")
                        .fetchone())
        return int(row[0]) if row else 0

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's counters (pool_size, pool_available, requests_waiting, ...)."""
        return dict(self._pool.get_stats())

    def close(self) -> None:
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._pool.close()

    # -- credentials
    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = default_keyring()
        return self._keyring

    def _cred(self, row: Any) -> Credential:
        return columns.from_row(row, lambda: self.keyring)

    def insert(self, cred: Credential) -> None:
        params = columns.to_row(cred, self.keyring, columns.PG)
        sql = (f"INSERT INTO credentials ({_COLUMNS}) VALUES ({', '.join(['%s'] * len(params))})"
               " ON CONFLICT (serial) DO NOTHING")
        if not self._run(lambda conn: conn.execute(sql, params).rowcount == 1):
            raise CredentialExistsError(f"credential {cred.serial!r} already exists")

    def get(self, serial: str) -> Credential | None:
        row = self._run(lambda c: c.execute(f"SELECT {_COLUMNS} FROM credentials WHERE serial = %s",
                                            (serial,)).fetchone())
        return None if row is None else self._cred(row)

    def credentials(self) -> list[Credential]:
        rows = self._run(lambda c: c.execute(f"SELECT {_COLUMNS} FROM credentials ORDER BY serial")
                         .fetchall())
        return [self._cred(r) for r in rows]

    def reseal(self, keyring: Keyring) -> int:
        """Seal every seed again with ``keyring``'s primary key (key rotation), in one transaction."""
        def op(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM credentials FOR UPDATE").fetchall()
            for row in rows:
                cred = self._cred(row)
                ident, sealed = keyring.seal(cred.secret, cred.serial)
                conn.execute(f"UPDATE credentials SET secret = %s, {columns.SECRET_KEY} = %s"
                             " WHERE serial = %s", (sealed, ident, cred.serial))
            return len(rows)

        n = self._run(op, tx=True)
        self._keyring = keyring
        return n

    def delete(self, serial: str) -> bool:
        return self._run(lambda c: c.execute("DELETE FROM credentials WHERE serial = %s",
                                             (serial,)).rowcount == 1)

    def set_status(self, serial: str, status: Status, at: float) -> bool:
        return self._run(lambda c: c.execute(
            "UPDATE credentials SET status = %s, updated_at = %s WHERE serial = %s",
            (status.value, at, serial)).rowcount == 1)

    # -- compare-and-set: each one statement, so one round trip and one atomic transaction.
    # All parts of a statement with data-modifying CTEs see the same snapshot: the history
    # DELETE never sees the row the INSERT adds.
    def activate(self, serial: str, step: int, offset: int, at: float) -> bool:
        return self._count(
            "WITH upd AS (UPDATE credentials SET status = 'active', last_step = %(step)s,"
            " offset_steps = %(offset)s, enabled_at = %(at)s, locked = false, rate_hint_ppm = 0,"
            " rate_hint_sd_ppm = 0,"
            f" {_CLEAR_THROTTLE}, updated_at = %(at)s"
            " WHERE serial = %(serial)s AND status = 'pending' RETURNING serial),"
            f" {_RESTART_HISTORY} SELECT count(*) FROM upd",
            {"serial": serial, "step": step, "offset": offset, "at": at})

    def accept(self, serial: str, step: int, offset: int, at: float, history_size: int, *,
               reserved: bool = False) -> bool:
        params = {"serial": serial, "step": step, "offset": offset, "at": at,
                  "keep": max(0, history_size - 1)}  # older observations kept besides the new one
        ok = self._count(
            "WITH upd AS (UPDATE credentials SET last_step = %(step)s, offset_steps = %(offset)s,"
            f" last_used_at = %(at)s, {_CLEAR_THROTTLE}, locked = {'false' if reserved else 'locked'},"
            " updated_at = %(at)s WHERE serial = %(serial)s AND status = 'active'"
            + ("" if reserved else " AND NOT locked") +
            " AND (last_step IS NULL OR last_step < %(step)s) RETURNING serial),"
            " ins AS (INSERT INTO drift_history (serial, at, step, offset_steps)"
            " SELECT serial, %(at)s, %(step)s, %(offset)s FROM upd),"
            " trim_ AS (DELETE FROM drift_history WHERE serial IN (SELECT serial FROM upd) AND id <= ("
            " SELECT id FROM drift_history WHERE serial = %(serial)s ORDER BY id DESC"
            " OFFSET %(keep)s LIMIT 1))"
            " SELECT count(*) FROM upd", params)
        if ok and history_size <= 0:  # keep none, not even the new one (a second statement)
            self._run(lambda c: c.execute("DELETE FROM drift_history WHERE serial = %s", (serial,)))
        return ok

    def resync(self, serial: str, step: int, offset: int, at: float, rate_ppm: float = 0.0, *,
               unlock: bool = False, rate_sd_ppm: float = 0.0) -> bool:
        return self._count(
            "WITH upd AS (UPDATE credentials SET last_step = %(step)s, offset_steps = %(offset)s,"
            " rate_hint_ppm = %(rate)s, rate_hint_sd_ppm = %(rate_sd)s,"
            f" locked = false, {_CLEAR_THROTTLE}, updated_at = %(at)s"
            " WHERE serial = %(serial)s AND status = 'active'" + ("" if unlock else " AND NOT locked") +
            " AND (last_step IS NULL OR last_step < %(step)s) RETURNING serial),"
            f" {_RESTART_HISTORY} SELECT count(*) FROM upd",
            {"serial": serial, "step": step, "offset": offset, "at": at, "rate": float(rate_ppm),
             "rate_sd": float(rate_sd_ppm)})

    def _count(self, sql: str, params: dict[str, Any]) -> bool:
        row = self._run(lambda c: c.execute(sql, params).fetchone())
        return bool(row and row[0] == 1)

    # -- failures
    def note_failure(self, serial: str, at: float) -> None:
        self._run(lambda c: c.execute("UPDATE credentials SET last_failure_at = %s WHERE serial = %s",
                                      (at, serial)))

    def record_failure(self, serial: str, at: float, policy: Policy) -> ThrottleState:
        def op(conn: psycopg.Connection[tuple[Any, ...]]) -> ThrottleState:
            # the first UPDATE holds the row lock until commit: the second sees no other writer
            row = conn.execute(
                "UPDATE credentials SET failures = failures + 1, last_failure_at = %s, updated_at = %s"
                " WHERE serial = %s RETURNING failures, locked", (at, at, serial)).fetchone()
            if row is None:
                raise UnknownCredentialError(f"no credential {serial!r}")
            failures = int(row[0])
            until, locked = policy.after_failure(failures, at)
            locked = locked or bool(row[1])
            conn.execute("UPDATE credentials SET throttle_until = %s, locked = %s WHERE serial = %s",
                         (until, locked, serial))
            return ThrottleState(failures, until, locked)

        return self._run(op, tx=True)

    def _sql(self, policy: Policy, status: Status = Status.ACTIVE) -> tuple[str, str]:
        sql = self._reserve_sql.get((policy, status))
        if sql is None:
            set_, gate = columns.reserve_sql(columns.PG, policy, "%(at)s", status)
            # one statement: the conditional UPDATE, or (refused) the row as it is; the history
            # comes along either way, so an attempt costs one round trip
            sql = (f"WITH upd AS (UPDATE credentials SET {set_} WHERE serial = %(serial)s AND {gate}"
                   f" RETURNING {_COLUMNS})"
                   f" SELECT {columns.column_list('upd.')}, true, {_HIST_AGG.replace('{t}', 'upd')} FROM upd"
                   f" UNION ALL SELECT {columns.column_list('c.')}, false, {_HIST_AGG.replace('{t}', 'c')}"
                   " FROM credentials c WHERE c.serial = %(serial)s AND NOT EXISTS (SELECT 1 FROM upd)",
                   f"UPDATE credentials SET {columns.release_set(columns.PG, policy)}"
                   " WHERE serial = %s AND failures > 0")
            self._reserve_sql[(policy, status)] = sql
        return sql

    def reserve(self, serial: str, at: float, policy: Policy,
                status: Status = Status.ACTIVE) -> Attempt | None:
        sql = self._sql(policy, status)[0]
        row = self._run(lambda c: c.execute(sql, {"serial": serial, "at": at}).fetchone())
        if row is None:
            return None
        hist = [Observation(float(a), int(s), int(o)) for a, s, o in row[-1]]
        return Attempt(self._cred(row[:-2]), hist, bool(row[-2]))

    def release(self, serial: str, at: float, policy: Policy) -> None:
        sql = self._sql(policy)[1]
        self._run(lambda c: c.execute(sql, (serial,)))

    def unlock(self, serial: str, at: float) -> bool:
        return self._run(lambda c: c.execute(
            "UPDATE credentials SET failures = 0, throttle_until = 0, locked = false, updated_at = %s"
            " WHERE serial = %s", (at, serial)).rowcount == 1)

    def set_resync_hint(self, serial: str, step: int | None, at: float | None) -> None:
        self._run(lambda c: c.execute(
            "UPDATE credentials SET resync_hint_step = %s, resync_hint_at = %s WHERE serial = %s",
            (step, at, serial)))

    # -- history
    def history(self, serial: str) -> list[Observation]:
        rows = self._run(lambda c: c.execute(
            "SELECT at, step, offset_steps FROM drift_history WHERE serial = %s ORDER BY id",
            (serial,)).fetchall())
        return [Observation(float(a), int(s), int(o)) for a, s, o in rows]

    def snapshot(self, serial: str) -> tuple[Credential, list[Observation]] | None:
        """One statement, so one MVCC snapshot: the credential and its history agree."""
        row = self._run(lambda c: c.execute(
            f"SELECT {_COLUMNS}, (SELECT coalesce(array_agg(array[h.at, h.step, h.offset_steps]"
            " ORDER BY h.id), '{}') FROM drift_history h WHERE h.serial = c.serial)"
            " FROM credentials c WHERE c.serial = %s", (serial,)).fetchone())
        if row is None:
            return None
        hist = [Observation(float(a), int(s), int(o)) for a, s, o in row[-1]]
        return self._cred(row[:-1]), hist
