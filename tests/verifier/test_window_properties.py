"""Properties of the window that follows the uncertainty (hypothesis).

- For any clock in ±200 ppm (with temperature, aging, offset) and any schedule, a code is accepted
  only for a step inside the window the verifier documents (``Verifier.window``), the step it
  reports is the one the token showed, and a code one step outside the window is refused.
- The window never exceeds ``max_window`` and always holds the policy's narrow minimum.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tokens.clock import DriftModel, ManualClock
from tokens.hotloop import PreparedKey
from tokens.verifier import MemoryStore, Policy, Verifier
from tokens.verifier.drift import DriftEstimate, window
from tokens.virtual import VirtualTOTP

from ._strategies import DAY, drift_models
from .conftest import START

models = drift_models(200)
policies = st.builds(Policy, look_behind=st.integers(0, 2), look_ahead=st.integers(0, 2),
                     max_window=st.integers(5, 19), coverage=st.sampled_from([0.9, 0.99, 0.995, 0.999]),
                     throttle_after=st.just(0), lockout_after=st.just(0))


@given(model=models, policy=policies,
       gaps=st.lists(st.floats(60, 120 * DAY), min_size=2, max_size=10),
       delays=st.lists(st.floats(0, 30), min_size=10, max_size=10),
       secret=st.binary(min_size=14, max_size=32))
def test_no_accept_outside_the_documented_window(model: DriftModel, policy: Policy, gaps: list[float],
                                                 delays: list[float], secret: bytes) -> None:
    clock = ManualClock(START)
    dev = VirtualTOTP(secret, reference=clock, drift=model)
    key = PreparedKey(secret)
    v = Verifier(MemoryStore(), policy, clock=clock)
    v.register("W1", secret, at=START)
    c1, c2 = dev.last(2, at=START)
    assert v.enable("W1", c1, c2).ok
    for gap, delay in zip(gaps, delays, strict=False):
        clock.advance(gap)
        read = clock.now()
        clock.advance(delay)  # the user types the code a little later
        lo, hi = v.window("W1")
        assert hi - lo + 1 <= policy.max_window
        for outside in (lo - 1, hi + 1):  # one step beyond either end: refused unless the code collides
            code = key.code(outside, 6)
            if all(key.code(s, 6) != code for s in range(lo, hi + 1)):
                assert not v.verify("W1", code).ok
        shown = dev.step(read)
        res = v.verify("W1", key.code(shown, 6))
        if res.ok:
            assert res.step == shown and lo <= shown <= hi
        else:  # the token is outside the window: the user resyncs
            c1, c2 = dev.last(2)
            v.resync("W1", c1, c2)


@given(offset=st.floats(-1e4, 1e4), sd=st.floats(0, 1e3), pos=st.floats(0, 1e8), policy=policies,
       period=st.sampled_from([15, 30, 60]))
def test_window_is_clamped_between_minimum_and_maximum(offset: float, sd: float, pos: float, policy: Policy,
                                                       period: int) -> None:
    est = DriftEstimate(0.0, offset, sd, 0.0, 0.0, 1, 0.0, False)
    lo, hi = window(est, pos, period=period, policy=policy)
    assert hi - lo + 1 <= policy.max_window
    centre = math.floor(pos + offset)
    if centre - policy.look_behind >= 0:
        assert lo <= centre - policy.look_behind and hi >= centre + policy.look_ahead
