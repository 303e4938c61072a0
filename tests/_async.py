"""Run asyncio code from a test even while another event loop is running in the main thread.

pytest-playwright's session-scoped sync API keeps an event loop marked as running in the main
thread for the rest of the session, so ``asyncio.run`` / ``run_until_complete`` there raise
"Cannot run the event loop while another loop is running".  These helpers run the loop in a
thread of its own instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """One event loop running in a daemon thread; ``run(coro)`` waits for the result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a fresh thread."""
    lt = LoopThread()
    try:
        return lt.run(coro)
    finally:
        lt.close()
