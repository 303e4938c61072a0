"""The throttle arithmetic the SQL stores run inside their reserving UPDATE is exactly
Policy.after_failure (one formula, two spellings: this test keeps them equal)."""

from __future__ import annotations

import sqlite3

import pytest

from tokens.verifier import Policy
from tokens.verifier.columns import SQLITE, reserve_sql

POLICIES = [Policy(), Policy(throttle_after=0, lockout_after=0), Policy(throttle_after=1, backoff_base=0.5,
            backoff_max=1e9, lockout_after=0), Policy(throttle_after=5, backoff_base=7, backoff_max=100,
                                                      lockout_after=5)]


@pytest.mark.parametrize("policy", POLICIES)
def test_sql_back_off_equals_policy(policy: Policy) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE credentials (failures INTEGER, throttle_until REAL, locked INTEGER,"
               " last_failure_at REAL, updated_at REAL, status TEXT)")
    set_, _ = reserve_sql(SQLITE, policy, ":at")
    at = 1000.0
    for before in range(0, 80):
        db.execute("DELETE FROM credentials")
        db.execute("INSERT INTO credentials VALUES (?, 0, 0, NULL, 0, 'active')", (before,))
        got = db.execute(f"UPDATE credentials SET {set_} RETURNING failures, throttle_until, locked",
                         {"at": at}).fetchone()
        until, locked = policy.after_failure(before + 1, at)
        assert got == (before + 1, pytest.approx(until), int(locked)), before
