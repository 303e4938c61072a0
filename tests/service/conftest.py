"""Fixtures for the service tests: a store URL per backend (SQLite file, PostgreSQL schema)."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a multiple of 30
SECRET_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 4226/6238 test secret
STEP0 = int(START) // 30


def code_at_step(step: int, secret_b32: str = SECRET_B32) -> str:
    """Independent of tokensim: pyotp computes the code of a TOTP step."""
    return str(pyotp.HOTP(secret_b32).at(step))


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("fresh_postgres_url")
        return url
    return f"sqlite://{tmp_path / 'verifier.sqlite3'}"
