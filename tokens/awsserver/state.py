"""The simulated account's bookkeeping in SQLite, one table per record type of :mod:`.records`.

Columns are derived from the dataclass fields, so a record and its table cannot disagree.  The
tables live beside the verifier's in the same database file (prefix ``aws_``); the verifier owns
everything about codes (window, drift, replay, throttling), this module only who owns what.
One connection guarded by a lock: the app calls in from the event loop and worker threads.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from .records import (
    Attachment,
    Credential,
    Group,
    InlinePolicy,
    LoginProfile,
    ManagedPolicy,
    Membership,
    MfaDeviceRecord,
    PolicyVersion,
    Role,
    Setting,
    User,
)

T = TypeVar("T")


def _sql_type(annotation: str) -> str:
    base = annotation.split("|")[0].strip()
    return {"str": "TEXT", "float": "REAL", "int": "INTEGER", "bool": "INTEGER"}[base]


class Table(Generic[T]):
    """CRUD over one record type; ``key`` columns form the primary key."""

    def __init__(self, state: State, name: str, cls: type[T], key: tuple[str, ...]) -> None:
        self.state, self.name, self.cls, self.key = state, name, cls, key
        self.columns = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        types = {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        cols = ", ".join(f"{c} {_sql_type(types[c])}" for c in self.columns)
        self.schema = f"CREATE TABLE IF NOT EXISTS {name} ({cols}, PRIMARY KEY ({', '.join(key)}))"

    def _row(self, row: tuple[Any, ...] | None) -> T | None:
        if row is None:
            return None
        values = dict(zip(self.columns, row, strict=True))
        for f in dataclasses.fields(self.cls):  # type: ignore[arg-type]
            if str(f.type) == "bool" and values[f.name] is not None:
                values[f.name] = bool(values[f.name])
        return self.cls(**values)

    @staticmethod
    def _where(where: dict[str, Any]) -> tuple[str, list[Any]]:
        if not where:
            return "", []
        parts, args = [], []
        for k, v in where.items():
            if v is None:
                parts.append(f"{k} IS NULL")
            else:
                parts.append(f"{k}=?")
                args.append(v)
        return " WHERE " + " AND ".join(parts), args

    def insert(self, rec: T) -> bool:
        """Add ``rec``; False if its key exists."""
        values = [getattr(rec, c) for c in self.columns]
        with self.state.tx() as db:
            cur = db.execute(f"INSERT OR IGNORE INTO {self.name} VALUES ({','.join('?' * len(values))})",
                             values)
            return cur.rowcount == 1

    def upsert(self, rec: T) -> None:
        values = [getattr(rec, c) for c in self.columns]
        with self.state.tx() as db:
            db.execute(f"INSERT OR REPLACE INTO {self.name} VALUES ({','.join('?' * len(values))})", values)

    def get(self, **where: Any) -> T | None:
        sql, args = self._where(where)
        with self.state.lock:
            return self._row(self.state.db.execute(f"SELECT * FROM {self.name}{sql}", args).fetchone())

    def all(self, **where: Any) -> list[T]:
        sql, args = self._where(where)
        order = ", ".join(self.key)
        with self.state.lock:
            rows = self.state.db.execute(f"SELECT * FROM {self.name}{sql} ORDER BY {order}", args).fetchall()
        return [r for r in (self._row(x) for x in rows) if r is not None]

    def delete(self, **where: Any) -> int:
        sql, args = self._where(where)
        with self.state.tx() as db:
            return int(db.execute(f"DELETE FROM {self.name}{sql}", args).rowcount)

    def update(self, values: dict[str, Any], **where: Any) -> int:
        """UPDATE ... SET values WHERE where (a compare-and-set when ``where`` names the old value)."""
        sql, args = self._where(where)
        sets = ", ".join(f"{k}=?" for k in values)
        with self.state.tx() as db:
            cur = db.execute(f"UPDATE {self.name} SET {sets}{sql}", [*values.values(), *args])
            return int(cur.rowcount)


class State:
    """Every table of one simulated account."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        if self.path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.users = Table(self, "aws_users", User, ("name",))
        self.groups = Table(self, "aws_groups", Group, ("name",))
        self.members = Table(self, "aws_group_members", Membership, ("group_name", "user_name"))
        self.roles = Table(self, "aws_roles", Role, ("name",))
        self.policies = Table(self, "aws_policies", ManagedPolicy, ("arn",))
        self.versions = Table(self, "aws_policy_versions", PolicyVersion, ("arn", "version_id"))
        self.attached = Table(self, "aws_attached", Attachment, ("kind", "entity", "arn"))
        self.inline = Table(self, "aws_inline", InlinePolicy, ("kind", "entity", "name"))
        self.logins = Table(self, "aws_login_profiles", LoginProfile, ("user_name",))
        self.devices = Table(self, "aws_mfa_devices", MfaDeviceRecord, ("serial",))
        self.credentials = Table(self, "aws_credentials", Credential, ("access_key_id",))
        self.settings = Table(self, "aws_settings", Setting, ("key",))
        with self.lock:
            for t in (self.users, self.groups, self.members, self.roles, self.policies, self.versions,
                      self.attached, self.inline, self.logins, self.devices, self.credentials, self.settings):
                self.db.execute(t.schema)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def setting(self, key: str) -> str | None:
        s = self.settings.get(key=key)
        return s.value if s else None

    def set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.settings.delete(key=key)
        else:
            self.settings.upsert(Setting(key, value))
