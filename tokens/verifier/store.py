"""The state-store contract.  Every store (memory, SQLite, PostgreSQL ...) implements :class:`Store`.

The verifier never reads-then-writes shared state.  Each mutating operation below is one atomic
step in the store (one transaction), and the ones that guard against replay are *compare-and-set*:
they succeed for exactly one of many concurrent callers and report which through their result.

Contract a store must honour (tests/verifier/test_store_contract.py checks it for every store):

- ``insert`` fails with CredentialExistsError for a taken serial.
- ``activate(serial, step, offset, at)``: only if status is ``pending``; sets status ``active``,
  ``last_step = step``, ``offset_steps``, ``enabled_at``; clears failures, throttle, lock,
  ``rate_hint_ppm``/``rate_hint_sd_ppm`` and the drift history, then records the observation.
  Returns False if the credential was not pending (or does not exist).
- ``accept(serial, step, offset, at, history_size)``: only if status is ``active``, not locked and
  ``last_step`` is NULL or ``< step``; sets ``last_step``, ``offset_steps``, ``last_used_at``,
  clears failures/throttle/auto-resync hint and appends the observation, keeping the newest
  ``history_size``.  Returns False (and changes nothing) otherwise.  Durable on return.
- ``resync(serial, step, offset, at, rate_ppm=0.0)``: like ``accept`` (status active,
  ``last_step < step``) but replaces the history by this one observation, so the offset and the
  rate estimate start over, and stores ``rate_ppm`` as ``rate_hint_ppm`` (the rate to start from)
  and ``rate_sd_ppm`` as ``rate_hint_sd_ppm`` (its standard error).
  With ``unlock=True`` (the owner's two codes) it also succeeds on, and clears, a lock.
- ``record_failure(serial, at, policy)``: atomically increments ``failures`` and sets
  ``throttle_until, locked = policy.after_failure(failures, at)`` (a lock is never cleared here);
  returns the new :class:`ThrottleState`.
- ``reserve(serial, at, policy)``: the throttle, atomically and *before* any code is looked at.
  Only if the credential is ``active``, not locked, ``at >= throttle_until`` and (with a
  lockout) ``failures < policy.lockout_after``: counts the attempt as a failure in advance
  (``failures + 1`` and the back-off/lock :meth:`Policy.after_failure` gives for it) and returns
  the credential and history *after* that, with ``reserved=True``.  Otherwise it changes nothing
  and returns the current state with ``reserved=False``; None for an unknown serial.  Of N
  concurrent callers at most the remaining budget get ``reserved=True``.
- ``accept(..., reserved=True)``: the success of a reserved attempt — like ``accept`` but it
  ignores (and clears) a lock, since the reservation was granted before any lock landed.
- ``release(serial, at, policy)``: gives a reservation back (the code was a replay: it is not
  counted as a failure): ``failures - 1`` and the back-off/lock of that count.
- ``reserve_many(serials, at, policy)``: ``reserve`` of each of the distinct ``serials``; a store
  that does it in fewer statements says so with ``bulk_reserve = True``.
- ``attempt(serial, at, policy)``: a context manager around ``reserve``; the SQLite store runs the
  whole attempt (reserve, check, accept/release) as one transaction, one commit.
- ``set_status`` / ``unlock`` / ``set_resync_hint`` / ``delete`` change only what they name.
- ``history(serial)`` returns observations oldest first; ``snapshot`` reads the credential and its
  history consistently (one read transaction where the backend has them).
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType

from ._records import fast_init
from .model import Credential, Observation, Status, ThrottleState
from .policy import Policy


@fast_init
@dataclass(frozen=True)
class Attempt:
    """What :meth:`Store.reserve` saw: the credential (after the reservation when ``reserved``)
    and its history."""

    cred: Credential
    history: list[Observation]
    reserved: bool


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
    def accept(self, serial: str, step: int, offset: int, at: float, history_size: int, *,
               reserved: bool = False) -> bool: ...

    @abc.abstractmethod
    def resync(self, serial: str, step: int, offset: int, at: float, rate_ppm: float = 0.0, *,
               unlock: bool = False, rate_sd_ppm: float = 0.0) -> bool: ...

    # -- failures and throttling
    @abc.abstractmethod
    def record_failure(self, serial: str, at: float, policy: Policy) -> ThrottleState: ...

    @abc.abstractmethod
    def reserve(self, serial: str, at: float, policy: Policy,
                status: Status = Status.ACTIVE) -> Attempt | None:
        """Count one attempt as a failure in advance, atomically, if the throttle admits it and
        the credential has ``status`` (verify and resync: active; enable: pending).  None for an
        unknown serial; ``reserved`` False (nothing counted) when refused."""

    @abc.abstractmethod
    def release(self, serial: str, at: float, policy: Policy) -> None:
        """Give back one reservation (the attempt turned out not to count as a failure)."""

    #: True when :meth:`reserve_many` is cheaper than one :meth:`reserve` per serial (the
    #: verifier's ``verify_many`` then reserves a group's attempts at once inside ``batch()``)
    bulk_reserve = False

    def reserve_many(self, serials: Sequence[str], at: float, policy: Policy) -> list[Attempt | None]:
        """``reserve`` of each of ``serials`` (all distinct), in order."""
        return [self.reserve(s, at, policy) for s in serials]

    def attempt(self, serial: str, at: float, policy: Policy) -> AbstractContextManager[Attempt | None]:
        """``reserve`` for the duration of one verification; stores that can run the whole
        attempt as one transaction (one commit) override this."""
        return contextlib.nullcontext(self.reserve(serial, at, policy))

    @abc.abstractmethod
    def unlock(self, serial: str, at: float) -> bool:
        """Clear failures, back-off and lock."""

    @abc.abstractmethod
    def note_failure(self, serial: str, at: float) -> None:
        """Set ``last_failure_at``: a reserved attempt turned out a failure (``reserve`` counted it
        but does not stamp it, as most reservations end in a success)."""

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
