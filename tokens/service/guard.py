"""The global guard (#19 finding 9): failure budgets per client address and for the whole
service process, on top of the per-credential back-off and lock of the verifier.

Each budget is a token bucket of *evaluated failures* (a wrong code that was looked at; replays
and codes refused unseen do not count): ``burst`` failures at once, refilled at ``rate`` per
second.  A client whose bucket — or the service's — is empty gets ``429 rate_limited`` with
``Retry-After`` before its code is looked at, so spraying guesses over many serials is bounded
no matter how many serials an attacker knows.

Budgets are per service process (each worker and node keeps its own); the address is the TCP
peer (behind a reverse proxy, that is the proxy: give it its own limits).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from ..clock import Clock

__all__ = ["Budget", "FailureGuard"]


@dataclass(frozen=True)
class Budget:
    burst: float
    rate: float  # failures per second refilled

    def retry_after(self, tokens: float) -> float:
        return (1.0 - tokens) / self.rate if self.rate > 0 else 3600.0


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp

    def level(self, b: Budget, now: float) -> float:
        self.tokens = min(b.burst, self.tokens + (now - self.stamp) * b.rate)
        self.stamp = now
        return self.tokens


class FailureGuard:
    """``admit(client)`` before evaluating; ``failed(client, n)`` for n evaluated failures."""

    MAX_CLIENTS = 100_000

    def __init__(self, per_client: Budget | None = Budget(30, 0.1),
                 service: Budget | None = Budget(300, 5.0), clock: Clock | None = None) -> None:
        self.per_client = per_client
        self.service = service
        self._now = time.monotonic if clock is None else clock.now
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _Bucket] = OrderedDict()
        self._all = _Bucket(service.burst if service else 0.0, self._now())

    def admit(self, client: str) -> float | None:
        """None when the request may be evaluated, else the seconds to wait."""
        now = self._now()
        with self._lock:
            if self.service is not None and self._all.level(self.service, now) < 1.0:
                return self.service.retry_after(self._all.tokens)
            if self.per_client is not None:
                b = self._clients.get(client)
                if b is not None and b.level(self.per_client, now) < 1.0:
                    return self.per_client.retry_after(b.tokens)
        return None

    def failed(self, client: str, n: int = 1) -> None:
        if n <= 0:
            return
        now = self._now()
        with self._lock:
            if self.service is not None:
                self._all.level(self.service, now)
                self._all.tokens -= n
            if self.per_client is not None:
                b = self._clients.get(client)
                if b is None:
                    b = self._clients[client] = _Bucket(self.per_client.burst, now)
                    if len(self._clients) > self.MAX_CLIENTS:
                        self._clients.popitem(last=False)
                else:
                    self._clients.move_to_end(client)
                b.level(self.per_client, now)
                b.tokens -= n
