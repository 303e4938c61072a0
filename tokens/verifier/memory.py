"""An in-process store for tests and simulations: a dict behind one lock."""

from __future__ import annotations

import threading

from .errors import CredentialExistsError, UnknownCredentialError
from .model import Credential, Observation, Status, ThrottleState
from .policy import Policy
from .store import Attempt, Store


class MemoryStore(Store):
    """Atomic per operation (one lock); nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._creds: dict[str, Credential] = {}
        self._hist: dict[str, list[Observation]] = {}

    def _must(self, serial: str) -> Credential:
        cred = self._creds.get(serial)
        if cred is None:
            raise UnknownCredentialError(f"no credential {serial!r}")
        return cred

    def insert(self, cred: Credential) -> None:
        with self._lock:
            if cred.serial in self._creds:
                raise CredentialExistsError(f"credential {cred.serial!r} already exists")
            self._creds[cred.serial] = cred
            self._hist[cred.serial] = []

    def get(self, serial: str) -> Credential | None:
        with self._lock:
            return self._creds.get(serial)

    def credentials(self) -> list[Credential]:
        with self._lock:
            return [self._creds[k] for k in sorted(self._creds)]

    def delete(self, serial: str) -> bool:
        with self._lock:
            self._hist.pop(serial, None)
            return self._creds.pop(serial, None) is not None

    def set_status(self, serial: str, status: Status, at: float) -> bool:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None:
                return False
            self._creds[serial] = cred.evolve(status=status, updated_at=at)
            return True

    def activate(self, serial: str, step: int, offset: int, at: float) -> bool:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None or cred.status is not Status.PENDING:
                return False
            self._creds[serial] = cred.evolve(
                status=Status.ACTIVE, last_step=step, offset_steps=offset, enabled_at=at, failures=0,
                throttle_until=0.0, locked=False, resync_hint_step=None, resync_hint_at=None,
                rate_hint_ppm=0.0, rate_hint_sd_ppm=0.0, updated_at=at)
            self._hist[serial] = [Observation(at, step, offset)]
            return True

    def accept(self, serial: str, step: int, offset: int, at: float, history_size: int, *,
               reserved: bool = False) -> bool:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None or cred.status is not Status.ACTIVE or (cred.locked and not reserved) or \
                    (cred.last_step is not None and cred.last_step >= step):
                return False
            self._creds[serial] = cred.evolve(
                last_step=step, offset_steps=offset, last_used_at=at, failures=0, throttle_until=0.0,
                locked=cred.locked and not reserved,
                resync_hint_step=None, resync_hint_at=None, updated_at=at)
            hist = [*self._hist[serial], Observation(at, step, offset)]
            self._hist[serial] = hist[-history_size:] if history_size > 0 else []
            return True

    def resync(self, serial: str, step: int, offset: int, at: float, rate_ppm: float = 0.0, *,
               unlock: bool = False, rate_sd_ppm: float = 0.0) -> bool:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None or cred.status is not Status.ACTIVE or (cred.locked and not unlock) or \
                    (cred.last_step is not None and cred.last_step >= step):
                return False
            self._creds[serial] = cred.evolve(
                last_step=step, offset_steps=offset, failures=0, throttle_until=0.0, locked=False,
                resync_hint_step=None, resync_hint_at=None, rate_hint_ppm=float(rate_ppm),
                rate_hint_sd_ppm=float(rate_sd_ppm), updated_at=at)
            self._hist[serial] = [Observation(at, step, offset)]
            return True

    def record_failure(self, serial: str, at: float, policy: Policy) -> ThrottleState:
        with self._lock:
            cred = self._must(serial)
            failures = cred.failures + 1
            until, locked = policy.after_failure(failures, at)
            locked = locked or cred.locked
            self._creds[serial] = cred.evolve(failures=failures, throttle_until=until, locked=locked,
                                              last_failure_at=at, updated_at=at)
            return ThrottleState(failures, until, locked)

    def reserve(self, serial: str, at: float, policy: Policy,
                status: Status = Status.ACTIVE) -> Attempt | None:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None:
                return None
            hist = list(self._hist[serial])
            if cred.status is not status or cred.locked or at < cred.throttle_until or \
                    (policy.lockout_after and cred.failures >= policy.lockout_after):
                return Attempt(cred, hist, False)
            failures = cred.failures + 1
            until, locked = policy.after_failure(failures, at)
            cred = cred.evolve(failures=failures, throttle_until=until, locked=locked or cred.locked,
                               updated_at=at)
            self._creds[serial] = cred
            return Attempt(cred, hist, True)

    def note_failure(self, serial: str, at: float) -> None:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is not None:
                self._creds[serial] = cred.evolve(last_failure_at=at)

    def release(self, serial: str, at: float, policy: Policy) -> None:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None or cred.failures <= 0:
                return
            n = cred.failures - 1
            self._creds[serial] = cred.evolve(
                failures=n,
                throttle_until=cred.throttle_until if policy.throttle_after and n >= policy.throttle_after
                else 0.0,
                locked=cred.locked and not (policy.lockout_after and n < policy.lockout_after))

    def unlock(self, serial: str, at: float) -> bool:
        with self._lock:
            cred = self._creds.get(serial)
            if cred is None:
                return False
            self._creds[serial] = cred.evolve(failures=0, throttle_until=0.0, locked=False, updated_at=at)
            return True

    def set_resync_hint(self, serial: str, step: int | None, at: float | None) -> None:
        with self._lock:
            cred = self._must(serial)
            self._creds[serial] = cred.evolve(resync_hint_step=step, resync_hint_at=at)

    def history(self, serial: str) -> list[Observation]:
        with self._lock:
            return list(self._hist.get(serial, []))
