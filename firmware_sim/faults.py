"""Wire fault injection: a wrapper around any byte endpoint (the firmware, or another wrapper).

Faults act on whole frames (split at the 0x00 delimiter), in both directions, drawn from a seeded
random generator so a failing run can be replayed:

    corrupt   flip one byte of a frame
    drop      lose a frame
    garbage   prepend random bytes to a reply
    latency   hold a reply back for ``latency`` seconds
    unplug    take a request, then vanish before answering (the runner closes the port)

Nothing here touches the firmware's logic; it only sees bytes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .errors import SimConfigError, UnplugFault


class Endpoint(Protocol):
    """What a runner drives: bytes in, bytes out, plus output that becomes due over time."""

    def feed(self, data: bytes) -> bytes: ...

    def poll(self) -> bytes: ...

    def wakeup(self) -> float | None: ...


@dataclass(frozen=True)
class FaultPlan:
    corrupt: float = 0.0  # probability per frame (each direction)
    drop: float = 0.0  # probability per frame (each direction)
    garbage: float = 0.0  # probability per reply
    latency: float = 0.0  # seconds a delayed reply is held back
    latency_prob: float = 1.0  # probability a reply is delayed (when latency > 0)
    unplug: float = 0.0  # probability per request
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("corrupt", "drop", "garbage", "latency_prob", "unplug"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SimConfigError(f"{name} must be a probability between 0 and 1")
        if self.latency < 0:
            raise SimConfigError("latency must not be negative")

    @property
    def active(self) -> bool:
        return any((self.corrupt, self.drop, self.garbage, self.latency, self.unplug))


def split_frames(buf: bytearray, data: bytes) -> list[bytes]:
    """Append ``data`` to ``buf``; return the complete delimiter-terminated frames taken out of it."""
    buf += data
    out: list[bytes] = []
    while True:
        i = buf.find(0)
        if i < 0:
            return out
        if i > 0:
            out.append(bytes(buf[:i]))
        del buf[:i + 1]


class FaultyEndpoint:
    """Wraps an :class:`Endpoint`, damaging frames as the :class:`FaultPlan` says."""

    def __init__(self, inner: Endpoint, plan: FaultPlan,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.inner, self.plan = inner, plan
        self._rng = random.Random(plan.seed)
        self._monotonic = monotonic
        self._in = bytearray()
        self._out = bytearray()
        self._delayed: list[tuple[float, bytes]] = []
        self.events: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.events[what] = self.events.get(what, 0) + 1

    def _damage(self, frame: bytes, direction: str) -> bytes | None:
        if self.plan.drop and self._rng.random() < self.plan.drop:
            self._count(f"drop_{direction}")
            return None
        if self.plan.corrupt and self._rng.random() < self.plan.corrupt:
            self._count(f"corrupt_{direction}")
            b = bytearray(frame)
            b[self._rng.randrange(len(b))] ^= self._rng.randrange(1, 256)
            frame = bytes(b)
        return frame

    def feed(self, data: bytes) -> bytes:
        for frame in split_frames(self._in, data):
            if self.plan.unplug and self._rng.random() < self.plan.unplug:
                self._count("unplug")
                self.inner.feed(b"\x00" + frame + b"\x00")  # the command may run; the reply is lost
                raise UnplugFault("cable pulled mid-command")
            damaged = self._damage(frame, "in")
            if damaged is not None:
                self._queue(self.inner.feed(b"\x00" + damaged + b"\x00"))
        return self.poll()

    def _queue(self, output: bytes) -> None:
        for frame in split_frames(bytearray(), output):
            damaged = self._damage(frame, "out")
            if damaged is None:
                continue
            wire = b"\x00" + damaged + b"\x00"
            if self.plan.garbage and self._rng.random() < self.plan.garbage:
                self._count("garbage")
                wire = bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 40))) + wire
            if self.plan.latency and self._rng.random() < self.plan.latency_prob:
                self._count("latency")
                self._delayed.append((self._monotonic() + self.plan.latency, wire))
            else:
                self._out += wire

    def poll(self) -> bytes:
        self._queue(self.inner.poll())
        if self._delayed:
            now = self._monotonic()
            due = [w for t, w in self._delayed if t <= now]
            self._delayed = [(t, w) for t, w in self._delayed if t > now]
            for w in due:
                self._out += w
        out = bytes(self._out)
        self._out.clear()
        return out

    def wakeup(self) -> float | None:
        waits = [w for w in (self.inner.wakeup(),) if w is not None]
        if self._delayed:
            waits.append(max(0.0, min(t for t, _ in self._delayed) - self._monotonic()))
        return min(waits) if waits else None
