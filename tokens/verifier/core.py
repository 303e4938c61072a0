"""The verifier: enable, verify, resync — on top of a :class:`~tokens.verifier.store.Store`.

Flow of :meth:`Verifier.verify` (one read, then at most one write transaction)::

    snapshot ─► unknown / not_enabled / locked / throttled?  (code not even looked at)
             ─► window from the drift filter (drift.py): predicted step ± what covers 99.5 % of
                 the uncertainty (less for rarely used tokens), typing delay on the look-behind
                 side, 2..12 steps by default
             ─► constant-time scan of the steps above last_step, and of those at or below it
             ─► match above: store.accept() compare-and-set ─► ok | replayed (lost the race)
                match at/below: replayed;  no match: invalid (maybe an auto-resync hint)
             ─► (verify) the attempt is reserved first: store.attempt() counts it as a failure
                 in advance, atomically, only while the throttle admits it; a success or a
                 replay gives it back (accept / release)
             ─► every other failure: store.record_failure() ─► back-off deadline / lock

Codes are only ever computed and compared through :class:`tokens.hotloop.PreparedKey`.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable

from ..clock import Clock, SystemClock
from ..errors import InputError
from ..hotloop import PreparedKey
from ..otp import Algorithm, check_digits, check_period
from ..uri import parse_otpauth
from . import drift as _drift
from .drift import DriftEstimate, FilterState, position
from .errors import UnknownCredentialError
from .model import Credential, Kind, Observation, Reason, Status, SyncResult, ThrottleState, VerifyResult
from .policy import DEFAULT_POLICY, Policy
from .store import Attempt, Store

_KEY_CACHE_SIZE = 4096
_FILTER_CACHE_SIZE = 4096


class Verifier:
    """Verifies OTP codes for the credentials in ``store`` under ``policy``."""

    def __init__(self, store: Store, policy: Policy = DEFAULT_POLICY, clock: Clock | None = None) -> None:
        self.store = store
        self.policy = policy
        self.clock: Clock = clock or SystemClock()
        self._keys: OrderedDict[tuple[str, bytes, Algorithm], PreparedKey] = OrderedDict()
        self._keys_lock = threading.Lock()  # one Verifier may serve many threads
        # the drift filter after a credential's last observation, keyed by what determines it
        self._filters: OrderedDict[tuple[object, ...], FilterState] = OrderedDict()

    # ------------------------------------------------------------------ registry
    def register(self, serial: str, secret: bytes, *, kind: Kind | str = Kind.TOTP,
                 algorithm: Algorithm | str = Algorithm.SHA1, digits: int = 6, period: int = 30,
                 t0: float = 0.0, counter: int = 0, issuer: str = "", account: str = "",
                 offset_steps: int = 0, status: Status | str = Status.PENDING,
                 at: float | None = None) -> Credential:
        """Add a credential (``pending`` until :meth:`enable`, unless told otherwise).

        ``offset_steps`` is a known initial offset (e.g. a PSKC TimeDrift); an ``active``
        credential registered without codes has no last step yet.
        """
        now = self._now(at)
        try:
            status = Status(status)
            kind = Kind(kind)
        except ValueError as e:
            raise InputError(str(e)) from None
        if len(secret) < 10:
            raise InputError("a secret needs at least 80 bits")
        if not 0 <= counter < 2**63:
            raise InputError(f"counter {counter} out of range")
        cred = Credential(
            serial=serial, kind=Kind(kind), secret=bytes(secret), algorithm=Algorithm.parse(algorithm),
            digits=check_digits(digits), period=check_period(period), t0=float(t0), counter=counter,
            status=status, offset_steps=offset_steps, issuer=issuer, account=account,
            created_at=now, enabled_at=now if status is Status.ACTIVE else None, updated_at=now)
        self.store.insert(cred)
        return cred

    def register_uri(self, serial: str, uri: str, *, status: Status | str = Status.PENDING,
                     at: float | None = None) -> Credential:
        """Register the token described by an otpauth:// URI."""
        u = parse_otpauth(uri)
        return self.register(serial, u.secret, **u.register_kwargs(), status=status, at=at)

    def get(self, serial: str) -> Credential:
        cred = self.store.get(serial)
        if cred is None:
            raise UnknownCredentialError(f"no credential {serial!r}")
        return cred

    def credentials(self) -> list[Credential]:
        return self.store.credentials()

    def disable(self, serial: str, at: float | None = None) -> None:
        if not self.store.set_status(serial, Status.DISABLED, self._now(at)):
            raise UnknownCredentialError(f"no credential {serial!r}")

    def unlock(self, serial: str, at: float | None = None) -> None:
        """Administrator action: clear failures, back-off and lock."""
        if not self.store.unlock(serial, self._now(at)):
            raise UnknownCredentialError(f"no credential {serial!r}")

    def drift(self, serial: str, at: float | None = None) -> DriftEstimate:
        """The current drift estimate of a TOTP credential."""
        snap = self.store.snapshot(serial)
        if snap is None:
            raise UnknownCredentialError(f"no credential {serial!r}")
        cred, hist = snap
        return self._estimate(cred, hist, self._now(at))

    def coverage(self, est: DriftEstimate) -> float:
        """The probability the TOTP window for ``est`` covers: the policy's, lower for a rarely used
        token (:func:`tokens.verifier.drift.coverage`)."""
        return _drift.coverage(est, self.policy)

    def window(self, serial: str, at: float | None = None) -> tuple[int, int]:
        """First and last step (counter) verify() would look at."""
        snap = self.store.snapshot(serial)
        if snap is None:
            raise UnknownCredentialError(f"no credential {serial!r}")
        cred, hist = snap
        lo, hi, _ = self._window(cred, hist, self._now(at))
        return lo, hi

    # ------------------------------------------------------------------ enable / resync
    def enable(self, serial: str, code1: str, code2: str, at: float | None = None) -> SyncResult:
        """Activate a pending credential with two consecutive codes (AWS EnableMFADevice)."""
        now = self._now(at)
        # the attempt is counted as a failure in advance, atomically (as verify's): concurrent
        # guesses never get past the failure budget; activate() clears it on success
        att = self.store.reserve(serial, now, self.policy, Status.PENDING)
        if att is None:
            return SyncResult(False, Reason.UNKNOWN, serial)
        cred = att.cred
        if cred.status is not Status.PENDING:
            reason = Reason.ALREADY_ACTIVE if cred.status is Status.ACTIVE else Reason.NOT_ENABLED
            return SyncResult(False, reason, serial)
        if not att.reserved:
            reason, wait = self._refusal(cred, now)
            return SyncResult(False, reason, serial, retry_after=wait)
        if cred.kind is Kind.TOTP:
            base = self._base_step(cred, now)
            start = max(0, base + cred.offset_steps - self.policy.enroll_window)
            count = 2 * self.policy.enroll_window + 1
        else:
            base, start, count = cred.counter, cred.counter, self.policy.hotp_enroll_window
        found = self._find_pair(cred, code1, code2, start, count)
        if isinstance(found, Reason):
            return self._counted_failure(cred, found, now)
        offset = found - base
        if self.store.activate(serial, found, offset, now):
            return SyncResult(True, Reason.OK, serial, step=found, offset_steps=offset)
        return SyncResult(False, Reason.ALREADY_ACTIVE, serial)

    def resync(self, serial: str, code1: str, code2: str, at: float | None = None) -> SyncResult:
        """Find two consecutive codes in the wide resync window; restart offset and rate."""
        now = self._now(at)
        cred = self.store.get(serial)
        if cred is None:
            return SyncResult(False, Reason.UNKNOWN, serial)
        if cred.status is not Status.ACTIVE:
            return SyncResult(False, Reason.NOT_ENABLED, serial)
        gate = self._gate(cred, now)
        reserved = False
        if gate is None:  # counted in advance, atomically, as verify's attempts are
            att = self.store.reserve(serial, now, self.policy)
            if att is None:
                return SyncResult(False, Reason.UNKNOWN, serial)
            cred, reserved = att.cred, att.reserved
            if cred.status is not Status.ACTIVE:
                return SyncResult(False, Reason.NOT_ENABLED, serial)
            if not reserved:  # a concurrent failure closed the gate meanwhile
                gate = self._refusal(cred, now)
        if gate is not None and not self.policy.owner_unlock:
            return SyncResult(False, gate[0], serial, retry_after=gate[1])
        if gate is not None:  # locked or backing off: only the owner's device lifts it (see _owner_range)
            base, start, count = self._owner_range(cred, now)
        else:
            base, start, count = self._resync_range(cred, now)
        found = self._find_pair(cred, code1, code2, start, count)
        if isinstance(found, Reason):
            if reserved:
                return self._counted_failure(cred, found, now)
            return self._sync_failure(cred, found, now)
        offset = found - base
        rate, rate_sd = self._rate_to_keep(cred, Observation(now, found, offset))
        if self.store.resync(serial, found, offset, now, rate_ppm=rate, unlock=gate is not None,
                             rate_sd_ppm=rate_sd):
            return SyncResult(True, Reason.OK, serial, step=found, offset_steps=offset)
        if reserved:
            return self._counted_failure(cred, Reason.REPLAYED, now)
        return self._sync_failure(cred, Reason.REPLAYED, now)

    def _owner_range(self, cred: Credential, at: float) -> tuple[int, int, int]:
        """(base, start, count) for two consecutive codes that lift a lock or back-off: the
        second code must fall in the ordinary verify window, so a guessed pair succeeds with
        about (window steps) / 10**(2*digits) — the owner's device, tracked for drift, is there."""
        snap = self.store.snapshot(cred.serial)
        hist = snap[1] if snap is not None else []
        lo, hi, _ = self._window(cred, hist, at)
        base = self._base_step(cred, at) if cred.kind is Kind.TOTP else lo
        start = max(0, lo - 1)
        return base, start, hi - start + 1

    # ------------------------------------------------------------------ verify
    def verify(self, serial: str, code: str, at: float | None = None) -> VerifyResult:
        """Check one code at reference time ``at``; never raises for a bad code or unknown serial.

        The attempt is reserved in the store (counted as a failure in advance, atomically) before
        the code is looked at, so concurrent guesses never get past the failure budget."""
        now = self._now(at)
        with self.store.attempt(serial, now, self.policy) as att:
            return self._verify_reserved(serial, code, now, att)

    def _verify_reserved(self, serial: str, code: str, now: float, att: Attempt | None) -> VerifyResult:
        if att is None:
            return VerifyResult(False, Reason.UNKNOWN, serial)
        cred, hist = att.cred, att.history
        if cred.status is not Status.ACTIVE:
            return VerifyResult(False, Reason.NOT_ENABLED, serial)
        if not att.reserved:  # refused unseen: locked, backing off, or the budget is taken
            reason, wait = self._refusal(cred, now)
            return VerifyResult(False, reason, serial, retry_after=wait)
        filtered: tuple[FilterState, tuple[object, ...]] | None = None
        predicted: float | None
        if cred.kind is Kind.TOTP and self.policy.rate_estimation:
            lo, hi, predicted, filtered = self._window_filtered(cred, hist, now)
        else:
            lo, hi, predicted = self._window(cred, hist, now)
        window = (lo, hi)
        key = self._key(cred)
        last = cred.last_step if cred.last_step is not None else -1
        fresh_lo = max(lo, last + 1)
        if cred.kind is Kind.HOTP:  # also look back, only to tell "replayed" from "invalid"
            old_lo, old_hi = max(0, last + 1 - self.policy.hotp_look_ahead), last
        else:
            old_lo, old_hi = lo, min(hi, last)
        fresh = _scan(key, code, fresh_lo, hi - fresh_lo + 1, cred.digits)
        old = _scan(key, code, old_lo, old_hi - old_lo + 1, cred.digits)
        base = self._base_step(cred, now) if cred.kind is Kind.TOTP else lo  # HOTP: next expected
        if fresh is not None:
            step = fresh_lo + fresh
            offset = step - base
            if self.store.accept(serial, step, offset, now, self.policy.history_size, reserved=True):
                self._remember_success(cred, hist, Observation(now, step, offset), filtered)
                return VerifyResult(True, Reason.OK, serial, step=step, offset_steps=offset, auth_time=now,
                                    window=window, predicted_offset=predicted)
            current = self.store.get(serial)
            if current is None:
                return VerifyResult(False, Reason.UNKNOWN, serial)
            if current.status is not Status.ACTIVE:
                return VerifyResult(False, Reason.NOT_ENABLED, serial)
            return self._replayed(cred, now, step, window, predicted)
        if old is not None:
            return self._replayed(cred, now, old_lo + old, window, predicted)
        if self.policy.auto_resync:
            res = self._auto_resync(cred, code, now, window, predicted)
            if res is not None:
                return res
        # the reservation already counted this failure
        self.store.note_failure(serial, now)
        state = ThrottleState(cred.failures, cred.throttle_until, cred.locked)
        return VerifyResult(False, Reason.INVALID, serial, retry_after=_retry(state, now),
                            window=window, predicted_offset=predicted)

    def _replayed(self, cred: Credential, now: float, step: int, window: tuple[int, int],
                  predicted: float | None) -> VerifyResult:
        """A code already used: refused, and its reservation given back — a replay tells nothing
        about the next code, so it must not let anyone who saw one code lock the owner out."""
        self.store.release(cred.serial, now, self.policy)
        return VerifyResult(False, Reason.REPLAYED, cred.serial, step=step, window=window,
                            predicted_offset=predicted)

    def verify_many(self, items: Iterable[tuple[str, str]], at: float | None = None) -> list[VerifyResult]:
        """Verify many ``(serial, code)`` pairs at one time with group commit.

        Every item gets exactly the semantics of :meth:`verify` (window, drift, replay CAS,
        throttling), but a store that supports it (SQLite) commits them in one transaction, so
        the whole batch costs one fsync.  The results are returned only after that commit.
        """
        now = self._now(at)
        todo = list(items)
        store = self.store
        with store.batch():
            if store.bulk_reserve and len(todo) > 1 and len({s for s, _ in todo}) == len(todo):
                # distinct serials touch distinct rows, so reserving every attempt first and then
                # checking each is the same as reserve-check-accept item by item, in one transaction
                atts = store.reserve_many([s for s, _ in todo], now, self.policy)
                results = [self._verify_reserved(s, c, now, a) for (s, c), a in zip(todo, atts, strict=True)]
            else:
                results = [self.verify(serial, code, at=now) for serial, code in todo]
        return results

    # ------------------------------------------------------------------ helpers
    def _now(self, at: float | None) -> float:
        return self.clock.now() if at is None else float(at)

    def _key(self, cred: Credential) -> PreparedKey:
        ident = (cred.serial, cred.secret, cred.algorithm)
        with self._keys_lock:
            key = self._keys.get(ident)
            if key is not None:
                self._keys.move_to_end(ident)
                return key
        key = PreparedKey(cred.secret, cred.algorithm)
        with self._keys_lock:
            self._keys[ident] = key
            if len(self._keys) > _KEY_CACHE_SIZE:
                self._keys.popitem(last=False)
        return key

    @staticmethod
    def _base_step(cred: Credential, at: float) -> int:
        return math.floor(position(at, cred.period, cred.t0))

    @staticmethod
    def _filter_ident(cred: Credential, offset_steps: int, hist: list[Observation]) -> tuple[object, ...]:
        """The filter cache's key: what determines the filter — the credential's drift fields and
        the history (its length, first and last observation as the store keeps them)."""
        hint = (cred.rate_hint_ppm, cred.rate_hint_sd_ppm)
        if not hist:
            return (cred.serial, cred.period, cred.t0, offset_steps, hint, cred.created_at,
                    0, None, None, None)
        last = hist[-1]
        return (cred.serial, cred.period, cred.t0, offset_steps, hint, cred.created_at,
                len(hist), hist[0].at, last.at, last.step)

    def _filter(self, cred: Credential, hist: list[Observation]) -> FilterState:
        """The drift filter after the last observation (cached: a verify then costs one prediction)."""
        return self._filter_with_ident(cred, hist)[0]

    def _filter_with_ident(self, cred: Credential,
                           hist: list[Observation]) -> tuple[FilterState, tuple[object, ...]]:
        ident = self._filter_ident(cred, cred.offset_steps, hist)
        with self._keys_lock:
            st = self._filters.get(ident)
            if st is not None:
                self._filters.move_to_end(ident)
                return st, ident
        st = _drift.run(hist, period=cred.period, t0=cred.t0, policy=self.policy,
                        fallback_offset=cred.offset_steps, prior_ppm=cred.rate_hint_ppm,
                        prior_sd_ppm=cred.rate_hint_sd_ppm,
                        created_at=cred.enabled_at or cred.created_at)
        with self._keys_lock:
            self._filters[ident] = st
            if len(self._filters) > _FILTER_CACHE_SIZE:
                self._filters.popitem(last=False)
        return st, ident

    def _remember_success(self, cred: Credential, hist: list[Observation], obs: Observation,
                          filtered: tuple[FilterState, tuple[object, ...]] | None) -> None:
        """After ``obs`` was accepted: cache the filter over the new history, one filter step from
        ``filtered`` (the state and cache key the window came from) — drift.extend gives bit for
        bit what run() over the new history gives — so the next verify of this credential does
        not rebuild it.  Only when the store appended ``obs`` without dropping the oldest
        observation, and ``obs`` is not older than any of them."""
        if filtered is None:
            return
        st, old = filtered
        with self._keys_lock:
            self._filters.pop(old, None)  # that history is gone from the store: free its slot
        if not len(hist) < self.policy.history_size:
            return
        new = _drift.extend(st, obs, period=cred.period, t0=cred.t0, policy=self.policy)
        if new is None:  # obs older than the newest observation: run() would sort it in earlier
            return
        # _filter_ident of hist + [obs] (the store appends obs), from the old key
        n = len(hist)
        ident = (*old[:3], obs.offset_steps, *old[4:6], n + 1, old[7] if n else obs.at, obs.at, obs.step)
        with self._keys_lock:
            self._filters[ident] = new
            if len(self._filters) > _FILTER_CACHE_SIZE:
                self._filters.popitem(last=False)

    def _estimate(self, cred: Credential, hist: list[Observation], at: float) -> DriftEstimate:
        if not self.policy.rate_estimation:
            return _drift.estimate(hist, at, period=cred.period, t0=cred.t0, policy=self.policy,
                                   fallback_offset=cred.offset_steps)
        return _drift.estimate_from(self._filter(cred, hist), at, period=cred.period, policy=self.policy)

    def _rate_to_keep(self, cred: Credential, obs: Observation) -> tuple[float, float]:
        """(rate, its standard error) a resync carries over: the filter's, after learning from the
        jump itself (jump ÷ idle time) — when it is known to ``rate_hint_sd_ppm`` or better; else
        (0, 0): the new history starts from the crystal prior."""
        if cred.kind is Kind.HOTP or not (self.policy.resync_keeps_rate and self.policy.rate_estimation):
            return 0.0, 0.0
        snap = self.store.snapshot(cred.serial)
        if snap is None:
            return 0.0, 0.0
        st = self._filter(snap[0], snap[1])
        rate, sd = _drift.rate_after_jump(st, obs, period=cred.period, t0=cred.t0, policy=self.policy)
        return (rate, sd) if sd <= self.policy.rate_hint_sd_ppm else (0.0, 0.0)

    def _window(self, cred: Credential, hist: list[Observation], at: float) -> tuple[int, int, float | None]:
        if cred.kind is Kind.TOTP and self.policy.rate_estimation:
            lo, hi, offset, _ = self._window_filtered(cred, hist, at)
            return lo, hi, offset
        if cred.kind is Kind.HOTP:
            nxt = (cred.last_step + 1) if cred.last_step is not None else cred.counter
            return nxt, nxt + self.policy.hotp_look_ahead - 1, None
        est = self._estimate(cred, hist, at)
        pos = position(at, cred.period, cred.t0)
        lo, hi = _drift.window(est, pos, period=cred.period, policy=self.policy)
        return lo, hi, est.offset

    def _window_filtered(self, cred: Credential, hist: list[Observation], at: float) -> tuple[
            int, int, float, tuple[FilterState, tuple[object, ...]]]:
        """_window of a TOTP credential under rate estimation, with the filter state and its
        cache key (for _remember_success)."""
        filtered = self._filter_with_ident(cred, hist)
        est = _drift.estimate_from(filtered[0], at, period=cred.period, policy=self.policy)
        pos = position(at, cred.period, cred.t0)
        lo, hi = _drift.window(est, pos, period=cred.period, policy=self.policy)
        return lo, hi, est.offset, filtered

    def _resync_range(self, cred: Credential, at: float) -> tuple[int, int, int]:
        """(base, start, count) of the wide resync search."""
        if cred.kind is Kind.HOTP:
            base = (cred.last_step + 1) if cred.last_step is not None else cred.counter
            return base, base, self.policy.hotp_resync_window
        base = self._base_step(cred, at)
        r = self.policy.resync_window(cred.period)
        start = max(0, base - r)
        return base, start, base + r - start + 1

    def _gate(self, cred: Credential, at: float) -> tuple[Reason, float] | None:
        """Locked or backing off: refuse without looking at the code."""
        if cred.locked:
            return Reason.LOCKED, 0.0
        if at < cred.throttle_until:
            return Reason.THROTTLED, cred.throttle_until - at
        return None

    def _find_pair(self, cred: Credential, code1: str, code2: str, start: int, count: int) -> int | Reason:
        """Step of ``code2`` where ``code1`` matches step-1 and ``code2`` the step; else the reason."""
        key = self._key(cred)
        if not (_well_formed(code1, cred.digits) and _well_formed(code2, cred.digits)):
            return Reason.INVALID
        seen_first = False
        pos, end = start, start + count
        while pos < end:
            i = key.scan(code1, pos, end - pos, cred.digits)
            if i is None:
                break
            seen_first = True
            step1 = pos + i
            if key.scan(code2, step1 + 1, 1, cred.digits) == 0:
                return step1 + 1
            pos = step1 + 1
        return Reason.NOT_CONSECUTIVE if seen_first else Reason.NOT_FOUND

    def _auto_resync(self, cred: Credential, code: str, now: float, window: tuple[int, int],
                     predicted: float | None) -> VerifyResult | None:
        base, start, count = self._resync_range(cred, now)
        i = _scan(self._key(cred), code, start, count, cred.digits)
        if i is None:
            return None
        step = start + i
        hint, hint_at = cred.resync_hint_step, cred.resync_hint_at
        if hint is not None and hint_at is not None and step == hint + 1 \
                and 0 <= now - hint_at <= self.policy.auto_resync_timeout:
            offset = step - base
            rate, rate_sd = self._rate_to_keep(cred, Observation(now, step, offset))
            if self.store.resync(cred.serial, step, offset, now, rate_ppm=rate, rate_sd_ppm=rate_sd):
                return VerifyResult(True, Reason.OK, cred.serial, step=step, offset_steps=offset,
                                    auth_time=now, window=window, predicted_offset=predicted)
            return self._replayed(cred, now, step, window, predicted)
        self.store.set_resync_hint(cred.serial, step, now)
        return None

    def _refusal(self, cred: Credential, at: float) -> tuple[Reason, float]:
        """Why a reservation was refused: locked, backing off, or the lockout budget spent."""
        gate = self._gate(cred, at)
        if gate is not None:
            return gate
        spent = bool(self.policy.lockout_after) and cred.failures >= self.policy.lockout_after
        return (Reason.LOCKED if spent else Reason.THROTTLED), 0.0

    def _counted_failure(self, cred: Credential, reason: Reason, now: float) -> SyncResult:
        """A failed enable/resync whose reservation (``cred`` as it returned) already counted it."""
        self.store.note_failure(cred.serial, now)
        state = ThrottleState(cred.failures, cred.throttle_until, cred.locked)
        return SyncResult(False, reason, cred.serial, retry_after=_retry(state, now))

    def _sync_failure(self, cred: Credential, reason: Reason, now: float) -> SyncResult:
        state = self.store.record_failure(cred.serial, now, self.policy)
        return SyncResult(False, reason, cred.serial, retry_after=_retry(state, now))


def _retry(state: ThrottleState, now: float) -> float:
    """Seconds of back-off left; 0 once locked (a lock does not expire)."""
    return 0.0 if state.locked else max(0.0, state.throttle_until - now)


def _well_formed(code: str, digits: int) -> bool:
    return isinstance(code, str) and len(code) == digits and code.isascii() and code.isdigit()


def _scan(key: PreparedKey, code: str, start: int, count: int, digits: int) -> int | None:
    """Constant-time scan; a malformed code is scanned against a dummy so timing stays the same."""
    if count <= 0:
        return None
    ok = _well_formed(code, digits)
    i = key.scan(code if ok else "0" * digits, start, count, digits)  # result discarded if malformed
    return i if ok else None

