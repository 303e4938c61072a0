"""Choose a verifier store by URL, like pyserial's ``serial_for_url``.

    open_store("sqlite:///var/lib/tokensim/verifier.db")   # SQLite, absolute path
    open_store("sqlite://verifier.db")                      # SQLite, relative path
    open_store("/path/to/verifier.db")                      # a bare path is SQLite too
    open_store("postgresql://user:pw@db.example:5432/tokensim?sslmode=require")
    open_store("memory:")                                   # in-process, for tests

PostgreSQL URLs accept libpq's query parameters (``sslmode``, ``connect_timeout``,
``options=-csearch_path%3Dschema``, ...); ``pool_size`` here sets the connection-pool size.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InputError
from .store import Store

__all__ = ["describe_url", "is_postgres_url", "open_store"]

_PG_SCHEMES = ("postgresql://", "postgres://")
FORMS = "sqlite:///ABSOLUTE/PATH, sqlite://RELATIVE/PATH, a plain file path, postgresql://..., or memory:"


def is_postgres_url(url: str) -> bool:
    return url.lower().startswith(_PG_SCHEMES)


def _sqlite_path(url: str) -> str:
    if url.lower().startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if not path:
            raise InputError(f"empty SQLite path in {url!r} (expected {FORMS})")
        return path
    return url


def describe_url(url: str | os.PathLike[str]) -> str:
    """The URL with any password removed, for messages and ``health`` output."""
    text = os.fspath(url)
    if is_postgres_url(text):
        from .pgstore import _redact

        return _redact(text)
    if text.lower().startswith("memory:"):
        return "memory:"
    return f"sqlite://{_sqlite_path(text)}"


def open_store(url: str | os.PathLike[str], **options: Any) -> Store:
    """Open the store a URL names.  ``options`` go to the store's constructor
    (SQLite: ``busy_timeout``; PostgreSQL: ``pool_size``, ``min_pool``, ``timeout``, ...)."""
    text = os.fspath(url)
    if not text:
        raise InputError(f"empty store URL (expected {FORMS})")
    if is_postgres_url(text):
        from .pgstore import PostgresStore

        return PostgresStore(text, **options)
    if text.lower() in ("memory:", "memory://"):
        from .memory import MemoryStore

        return MemoryStore()
    scheme, sep, _ = text.partition("://")
    if sep and scheme.lower() != "sqlite":
        raise InputError(f"unknown store URL scheme {scheme!r} (expected {FORMS})")
    from .sqlite import SQLiteStore

    return SQLiteStore(_sqlite_path(text), **options)
