"""Session fixtures that start real servers for the tests that need them (see tests/pg.py)."""

from __future__ import annotations
