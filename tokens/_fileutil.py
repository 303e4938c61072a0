"""Deprecated private name of :mod:`tokens.fileutil` (kept so existing imports keep working)."""

from __future__ import annotations

from .fileutil import atomic_write

__all__ = ["atomic_write"]
