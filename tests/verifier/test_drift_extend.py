"""drift.extend (the one-step filter update the verifier caches after a success) gives exactly
what drift.run gives over the longer history — bit for bit, so caching it changes no window."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._settings import FUZZ
from tokens.verifier import drift
from tokens.verifier.model import Credential, Kind, Observation, Status
from tokens.verifier.policy import Policy


def _histories(seed: int, count: int) -> list[list[Observation]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        at = rng.uniform(0, 2e9)
        hist = []
        for _ in range(rng.randrange(1, 70)):
            at += rng.choice([0.0, rng.uniform(0, 3e7), rng.uniform(0, 100)])  # ties, months, seconds
            hist.append(Observation(at, int(at // 30) + rng.randrange(-6, 7), 0))
        out.append(hist)
    return out


@pytest.mark.parametrize("policy", [Policy(), Policy(rate_prior_ppm=40.0, rate_wander_ppm=1.0)])
@pytest.mark.parametrize("hint", [0.0, -17.5])
def test_extend_folds_to_run_exactly(policy: Policy, hint: float) -> None:
    for hist in _histories(7, 150):
        state = drift.run([], period=30, t0=0.0, policy=policy, prior_ppm=hint, created_at=1.0)
        for i, obs in enumerate(hist):
            nxt = drift.extend(state, obs, period=30, t0=0.0, policy=policy)
            assert nxt is not None
            state = nxt
            assert state == drift.run(hist[:i + 1], period=30, t0=0.0, policy=policy, prior_ppm=hint,
                                      created_at=1.0)


def test_extend_refuses_an_older_observation() -> None:
    p = Policy()
    hist = [Observation(1000.0, 33, 0), Observation(5000.0, 166, 0)]
    state = drift.run(hist, period=30, t0=0.0, policy=p)
    assert drift.extend(state, Observation(4000.0, 133, 0), period=30, t0=0.0, policy=p) is None


@FUZZ
@given(st.lists(st.tuples(st.floats(0, 1e8), st.integers(-40, 40)), min_size=1, max_size=40),
       st.sampled_from([30, 60]), st.floats(-1e6, 1e6))
def test_extend_equals_run_fuzz(raw: list[tuple[float, int]], period: int, t0: float) -> None:
    p = Policy()
    at, hist = 1e9, []
    for gap, off in raw:
        at += gap
        hist.append(Observation(at, int((at - t0) // period) + off, off))
    state = drift.run([], period=period, t0=t0, policy=p, created_at=0.0)
    for obs in hist:
        nxt = drift.extend(state, obs, period=period, t0=t0, policy=p)
        assert nxt is not None
        state = nxt
    assert state == drift.run(hist, period=period, t0=t0, policy=p)


def test_credential_evolve_is_replace() -> None:
    from dataclasses import replace

    c = Credential("S1", Kind.TOTP, b"k" * 20, status=Status.ACTIVE, failures=2)
    for changes in ({"failures": 0, "locked": True}, {"last_step": 5, "offset_steps": -1}, {}):
        assert c.evolve(**changes) == replace(c, **changes)
    assert c.evolve(failures=9) is not c and c.failures == 2
    with pytest.raises(TypeError):
        c.evolve(no_such_field=1)
