"""Verifier configuration: windows, drift estimation, throttling.  One frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError

DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    """Every knob of the verifier, with the defaults documented in docs/verifier.md.

    Windows are counted in steps (TOTP) or counters (HOTP).  A TOTP window follows the drift
    filter's uncertainty (tokens/verifier/drift.py): at least ``look_behind``/``look_ahead`` around
    the predicted step, wide enough to cover ``coverage`` of where the token can be, never more
    than ``max_window`` steps in total.
    """

    # verify windows: the narrow minimum around the predicted step, and the hard maximum
    look_behind: int = 1
    look_ahead: int = 0  # the coverage widens the window ahead when the prediction is uncertain
    max_window: int = 12  # steps in total (privacyIDEA's default 180 s: 6 back, 5 ahead)
    coverage: float = 0.995  # probability the window covers the token's code
    # a token whose successes come rarely (mean interval rare_use_from_days .. rare_use_full_days,
    # linearly) is covered at rare_use_coverage: see docs/verifier.md, "Rarely used tokens"
    rare_use_coverage: float = 0.85
    rare_use_from_days: float = 45.0
    rare_use_full_days: float = 75.0
    typing_delay: float = 30.0  # s a user may take between reading and submitting (look-behind only)
    hotp_look_ahead: int = 10
    # enable(): search window around the verifier's step (TOTP) / ahead of the counter (HOTP)
    enroll_window: int = 10
    hotp_enroll_window: int = 100
    # resync(): wide search
    resync_window_seconds: float = DAY
    hotp_resync_window: int = 1000
    # auto-resync (privacyIDEA style): an out-of-window code is remembered and the next
    # consecutive code within auto_resync_timeout resyncs
    auto_resync: bool = False
    auto_resync_timeout: float = 300.0
    # drift tracking (a Kalman filter over offset and rate; False = offset-only, fixed window)
    rate_estimation: bool = True
    max_rate_ppm: float = 200.0  # cap on the estimated rate
    rate_prior_ppm: float = 25.0  # sd of a crystal's rate before any observation (+-20 ppm parts and worse)
    rate_hint_sd_ppm: float = 8.0  # sd of a rate carried over a resync (carried only if known that well)
    rate_wander_ppm: float = 3.0  # sd of the rate's change over 90 days (aging, seasonal temperature)
    offset_model_sd: float = 0.15  # steps of model error added to every prediction (a rate that bends)
    resync_gate_sigma: float = 6.0  # a resync jump beyond this many sd is a clock set, not drift
    history_size: int = 64  # successes kept per credential
    resync_keeps_rate: bool = True  # a resync restarts the history but starts from the learnt rate
    # throttling
    throttle_after: int = 3  # K consecutive failures before back-off starts
    backoff_base: float = 30.0  # first back-off (s), doubled per further failure
    backoff_max: float = 3600.0
    lockout_after: int = 10  # M consecutive failures: locked until unlocked
    # the owner's way out of a lock or back-off an attacker caused: resync() with two consecutive
    # codes whose second lies in the verify window is evaluated even then, and lifts it
    owner_unlock: bool = True

    def __post_init__(self) -> None:
        for name in ("look_behind", "look_ahead", "max_window", "hotp_look_ahead", "enroll_window",
                     "hotp_enroll_window", "hotp_resync_window", "history_size",
                     "throttle_after", "lockout_after"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"policy: {name} must be a whole number >= 0 (got {v!r})")
        for name in ("resync_window_seconds", "auto_resync_timeout", "max_rate_ppm", "typing_delay",
                     "rate_prior_ppm", "rate_hint_sd_ppm", "rate_wander_ppm", "resync_gate_sigma",
                     "offset_model_sd", "rare_use_from_days", "rare_use_full_days",
                     "backoff_base", "backoff_max"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise InputError(f"policy: {name} must be a finite number >= 0 (got {v!r})")
        if self.hotp_look_ahead < 1:
            raise InputError("policy: hotp_look_ahead must be at least 1")
        if self.history_size < 2:
            raise InputError("policy: history_size must be at least 2")
        if self.rate_prior_ppm <= 0 or self.rate_hint_sd_ppm <= 0:
            raise InputError("policy: rate_prior_ppm and rate_hint_sd_ppm must be positive")
        if not (isinstance(self.coverage, int | float) and 0.5 <= self.coverage < 1):
            raise InputError(f"policy: coverage must be in [0.5, 1) (got {self.coverage!r})")
        rare = self.rare_use_coverage
        if not (isinstance(rare, int | float) and 0.5 <= rare <= self.coverage):
            raise InputError(f"policy: rare_use_coverage must be in [0.5, coverage] (got {rare!r})")
        if self.rare_use_full_days < self.rare_use_from_days:
            raise InputError("policy: rare_use_full_days must not be below rare_use_from_days")
        if self.look_behind + self.look_ahead + 1 > self.max_window:
            raise InputError("policy: max_window must hold look_behind + 1 + look_ahead steps")
        if self.lockout_after and self.lockout_after < self.throttle_after:
            raise InputError("policy: lockout_after must not be below throttle_after")

    def resync_window(self, period: int) -> int:
        """The TOTP resync search half-width in steps."""
        return max(1, math.ceil(self.resync_window_seconds / period))

    def after_failure(self, failures: int, at: float) -> tuple[float, bool]:
        """(throttle deadline, locked) after the ``failures``-th consecutive failure at ``at``.

        0 for ``throttle_after`` or ``lockout_after`` switches that rule off.
        """
        locked = bool(self.lockout_after) and failures >= self.lockout_after
        until = 0.0
        if self.throttle_after and failures >= self.throttle_after:
            exp = min(failures - self.throttle_after, 60)
            until = at + min(self.backoff_max, self.backoff_base * 2.0**exp)
        return until, locked


DEFAULT_POLICY = Policy()
