"""Verifier configuration: windows, drift estimation, throttling.  One frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError

DAY = 86400.0


@dataclass(frozen=True)
class Policy:
    """Every knob of the verifier, with the defaults documented in docs/verifier.md.

    Windows are counted in steps (TOTP) or counters (HOTP).  The rate estimator never widens a
    window: it only moves its centre.
    """

    # verify windows
    look_behind: int = 1
    look_ahead: int = 1
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
    # drift tracking
    rate_estimation: bool = True
    min_rate_points: int = 2
    min_rate_span: float = 3 * DAY  # trust a rate only after this spread of successes
    max_rate_ppm: float = 200.0  # cap on the estimated rate
    rate_prior_ppm: float = 50.0  # ridge prior: typical crystal tolerance
    rate_hint_sd_ppm: float = 5.0  # ridge prior around a rate carried over a resync (aging, temperature)
    rate_half_life: float = 90 * DAY  # older successes weigh less (aging, replacement)
    history_size: int = 64  # successes kept per credential
    resync_keeps_rate: bool = True  # a resync restarts the history but starts from the old rate
    # throttling
    throttle_after: int = 3  # K consecutive failures before back-off starts
    backoff_base: float = 30.0  # first back-off (s), doubled per further failure
    backoff_max: float = 3600.0
    lockout_after: int = 10  # M consecutive failures: locked until unlocked
    # the owner's way out of a lock or back-off an attacker caused: resync() with two consecutive
    # codes whose second lies in the verify window is evaluated even then, and lifts it
    owner_unlock: bool = True

    def __post_init__(self) -> None:
        for name in ("look_behind", "look_ahead", "hotp_look_ahead", "enroll_window",
                     "hotp_enroll_window", "hotp_resync_window", "min_rate_points", "history_size",
                     "throttle_after", "lockout_after"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"policy: {name} must be a whole number >= 0 (got {v!r})")
        for name in ("resync_window_seconds", "auto_resync_timeout", "min_rate_span", "max_rate_ppm",
                     "rate_prior_ppm", "rate_hint_sd_ppm", "rate_half_life", "backoff_base", "backoff_max"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise InputError(f"policy: {name} must be a finite number >= 0 (got {v!r})")
        if self.hotp_look_ahead < 1:
            raise InputError("policy: hotp_look_ahead must be at least 1")
        if self.min_rate_points < 2:
            raise InputError("policy: min_rate_points must be at least 2")
        if self.history_size < self.min_rate_points:
            raise InputError("policy: history_size must be at least min_rate_points")
        if self.rate_prior_ppm <= 0 or self.rate_hint_sd_ppm <= 0 or self.rate_half_life <= 0:
            raise InputError("policy: rate_prior_ppm, rate_hint_sd_ppm and rate_half_life must be positive")
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
