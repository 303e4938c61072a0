"""The state-store contract.  Every store (memory, SQLite, PostgreSQL ...) implements :class:`Store`.

The verifier never reads-then-writes shared state.  Each mutating operation below is one atomic
step in the store (one transaction), and the ones that guard against replay are *compare-and-set*:
they succeed for exactly one of many concurrent callers and report which through their result.

Contract a store must honour (tests/verifier/test_store_contract.py checks it for every store):

- ``insert`` fails with CredentialExistsError for a taken serial.
- ``activate(serial, step, offset, at)``: only if status is ``pending``; sets status ``active``,
  ``last_step = step``, ``offset_steps``, ``enabled_at``; clears failures, throttle, lock,
  ``rate_hint_ppm`` and the drift history, then records the observation.  Returns False if the
  credential was not pending (or does not exist).
- ``accept(serial, step, offset, at, history_size)``: only if status is ``active``, not locked and
  ``last_step`` is NULL or ``< step``; sets ``last_step``, ``offset_steps``, ``last_used_at``,
  clears failures/throttle/auto-resync hint and appends the observation, keeping the newest
  ``history_size``.  Returns False (and changes nothing) otherwise.  Durable on return.
- ``resync(serial, step, offset, at, rate_ppm=0.0)``: like ``accept`` (status active,
  ``last_step < step``) but replaces the history by this one observation, so the offset and the
  rate estimate start over, and stores ``rate_ppm`` as ``rate_hint_ppm`` (the rate to start from).
- ``record_failure(serial, at, policy)``: atomically increments ``failures`` and sets
  ``throttle_until, locked = policy.after_failure(failures, at)`` (a lock is never cleared here);
  returns the new :class:`ThrottleState`.
- ``set_status`` / ``unlock`` / ``set_resync_hint`` / ``delete`` change only what they name.
- ``history(serial)`` returns observations oldest first; ``snapshot`` reads the credential and its
  history consistently (one read transaction where the backend has them).
"""

from __future__ import annotations

import abc
import contextlib
from contextlib import AbstractContextManager
from types import TracebackType

from .model import Credential, Observation, Status, ThrottleState
from .policy import Policy


class Store(abc.ABC):
    """Persistent verifier state, keyed by serial."""

    # -- credentials
    @abc.abstractmethod
    def insert(self, cred: Credential) -> None:
        """Add a new credential; CredentialExistsError if the serial is taken."""

    @abc.abstractmethod
    def get(self, serial: str) -> Credential | None: ...

    @abc.abstractmethod
    def credentials(self) -> list[Credential]:
        """All credentials, ordered by serial."""

    @abc.abstractmethod
    def delete(self, serial: str) -> bool: ...

    @abc.abstractmethod
    def set_status(self, serial: str, status: Status, at: float) -> bool: ...

    # -- the compare-and-set operations
    @abc.abstractmethod
    def activate(self, serial: str, step: int, offset: int, at: float) -> bool: ...

    @abc.abstractmethod
    def accept(self, serial: str, step: int, offset: int, at: float, history_size: int) -> bool: ...

    @abc.abstractmethod
    def resync(self, serial: str, step: int, offset: int, at: float, rate_ppm: float = 0.0) -> bool: ...

    # -- failures and throttling
    @abc.abstractmethod
    def record_failure(self, serial: str, at: float, policy: Policy) -> ThrottleState: ...

    @abc.abstractmethod
    def unlock(self, serial: str, at: float) -> bool:
        """Clear failures, back-off and lock."""

    @abc.abstractmethod
    def set_resync_hint(self, serial: str, step: int | None, at: float | None) -> None:
        """Remember (or forget) the out-of-window step for auto-resync."""

    # -- drift history
    @abc.abstractmethod
    def history(self, serial: str) -> list[Observation]:
        """Successes, oldest first."""

    def snapshot(self, serial: str) -> tuple[Credential, list[Observation]] | None:
        """The credential and its history, read consistently."""
        cred = self.get(serial)
        if cred is None:
            return None
        return cred, self.history(serial)

    def batch(self) -> AbstractContextManager[None]:
        """Operations inside may be committed together (group commit) — each still atomic on its
        own; nothing inside is durable, or may be reported, until the context exits cleanly.
        The default runs every operation in its own transaction."""
        return contextlib.nullcontext()

    # -- lifetime
    def close(self) -> None:  # noqa: B027 - optional for stores without resources
        """Release connections.  Idempotent."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
