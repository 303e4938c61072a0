"""Property: whatever the token's oscillator does (±100 ppm, temperature, jitter, aging) and however
irregular the schedule, the verifier never accepts a wrong code, and when it accepts the right one
the matched step is the step the token really showed."""

from __future__ import annotations

import math

import pyotp
from hypothesis import given
from hypothesis import strategies as st

from tokens.clock import DriftModel, ManualClock
from tokens.verifier import MemoryStore, Policy, Reason, Verifier
from tokens.virtual import VirtualTOTP

from ._strategies import DAY, drift_models
from .conftest import START

models = drift_models(100, jitter=st.floats(0, 3), seed=st.integers(0, 2**16))


@given(model=models, gaps=st.lists(st.floats(60, 90 * DAY), min_size=3, max_size=15),
       rate=st.booleans(), wrong_delta=st.integers(1, 999_999), secret=st.binary(min_size=14, max_size=32))
def test_no_false_accept(model: DriftModel, gaps: list[float], rate: bool, wrong_delta: int,
                         secret: bytes) -> None:
    clock = ManualClock(START)
    dev = VirtualTOTP(secret, reference=clock, drift=model)
    ref = pyotp.parse_uri(dev.uri())
    v = Verifier(MemoryStore(), Policy(rate_estimation=rate, throttle_after=0, lockout_after=0), clock=clock)
    v.register_uri("P1", dev.uri())
    c1, c2 = dev.consecutive(2, at=START - 30)
    assert v.enable("P1", c1, c2).ok
    for gap in gaps:
        clock.advance(gap)
        now = clock.now()
        lo, hi = v.window("P1")
        valid_in_window = {ref.at(s * 30) for s in range(lo, hi + 1)}
        wrong = f"{(int(dev.code()) + wrong_delta) % 1_000_000:06d}"
        if wrong not in valid_in_window:
            res = v.verify("P1", wrong)
            assert not res.ok and res.reason in (Reason.INVALID, Reason.REPLAYED)
        res = v.verify("P1", dev.code())
        if res.ok:
            assert res.step == dev.step(now)
        else:
            c1, c2 = dev.consecutive(2)
            sync = v.resync("P1", c1, c2)
            assert sync.ok == (abs(dev.step(now) - math.floor(now / 30)) <= v.policy.resync_window(30)), sync
            if sync.ok:
                assert sync.step == dev.step(now) + 1
