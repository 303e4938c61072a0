"""Scripted user presence (touch) and built-in user verification (simulated biometric).

A :class:`Presence` answers "did the user touch the key?" with an :class:`Outcome`.  While it
waits it reports ``STATUS.UPNEEDED`` through the keepalive callback (the CTAPHID layer turns that
into KEEPALIVE packets) and watches the cancel event.  Waiting uses an injected ``wait`` function so
tests never sleep long.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from enum import Enum

from fido2.ctap import STATUS

from ..errors import ERR, CtapStatus

KeepAlive = Callable[[STATUS], None]


class Outcome(str, Enum):
    APPROVE = "approve"
    DENY = "deny"
    TIMEOUT = "timeout"
    CANCEL = "cancel"

    def check(self) -> None:
        """Raise the CTAP status a non-approving outcome maps to."""
        if self is Outcome.DENY:
            raise CtapStatus(ERR.OPERATION_DENIED, "user denied")
        if self is Outcome.TIMEOUT:
            raise CtapStatus(ERR.USER_ACTION_TIMEOUT)
        if self is Outcome.CANCEL:
            raise CtapStatus(ERR.KEEPALIVE_CANCEL)


class Presence:
    """Base policy: approve at once.  Subclasses override :meth:`request`."""

    def request(self, event: threading.Event | None, keepalive: KeepAlive | None) -> Outcome:
        if event is not None and event.is_set():
            return Outcome.CANCEL
        return Outcome.APPROVE


class AutoApprove(Presence):
    pass


class Deny(Presence):
    def request(self, event: threading.Event | None, keepalive: KeepAlive | None) -> Outcome:
        return Outcome.DENY


def _event_wait(event: threading.Event, seconds: float) -> bool:
    return event.wait(seconds)


class WaitThenTimeout(Presence):
    """Nobody touches the key: send UPNEEDED every ``interval`` until ``timeout`` (or a cancel)."""

    def __init__(self, timeout: float = 30.0, interval: float = 0.1,
                 wait: Callable[[threading.Event, float], bool] = _event_wait,
                 then: Outcome = Outcome.TIMEOUT) -> None:
        self.timeout, self.interval, self.wait, self.then = timeout, interval, wait, then
        self.keepalives = 0

    def request(self, event: threading.Event | None, keepalive: KeepAlive | None) -> Outcome:
        ev = event or threading.Event()
        steps = max(1, math.ceil(self.timeout / self.interval - 1e-9))
        for _ in range(steps):
            if keepalive is not None:
                keepalive(STATUS.UPNEEDED)
            self.keepalives += 1
            if self.wait(ev, self.interval):
                return Outcome.CANCEL
        return self.then


class Scripted(Presence):
    """Answer with the given outcomes in order, then with ``default`` (a policy or an outcome)."""

    def __init__(self, outcomes: Iterable[Outcome | str], default: Presence | None = None) -> None:
        self.queue: deque[Outcome] = deque(Outcome(o) for o in outcomes)
        self.default = default or AutoApprove()

    def request(self, event: threading.Event | None, keepalive: KeepAlive | None) -> Outcome:
        if self.queue:
            return self.queue.popleft()
        return self.default.request(event, keepalive)


class Biometric:
    """Built-in UV: a simulated fingerprint reader that matches (or not), optionally scripted."""

    def __init__(self, match: bool | None = True, script: Iterable[bool] = ()) -> None:
        self.match = match  # None: match whenever a finger is enrolled (the authenticator decides)
        self.script: deque[bool] = deque(script)

    def verify(self, enrolled: bool = True) -> bool:
        if self.script:
            return self.script.popleft()
        return enrolled if self.match is None else self.match


def presence_for(name: str) -> Presence:
    """CLI names: approve | deny | timeout."""
    table: dict[str, Callable[[], Presence]] = {
        "approve": AutoApprove, "auto": AutoApprove, "deny": Deny,
        "timeout": lambda: WaitThenTimeout(timeout=5.0),
    }
    try:
        return table[name]()
    except KeyError:
        raise ValueError(f"unknown presence policy {name!r} (approve, deny, timeout)") from None
