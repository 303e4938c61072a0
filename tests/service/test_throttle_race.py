"""#19 finding 1 through the HTTP service: 200 concurrent wrong codes for one serial, spread over
three service processes sharing one store, evaluate at most the policy's remaining budget (the
default policy: back-off after 3 failures, so 3)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ._nodes import Node, call, post, start_nodes
from .conftest import SECRET_B32, START, STEP0, code_at_step

NODES = 3
GUESSES = 200
THREADS = 40


@pytest.fixture
def nodes(store_url: str) -> Iterator[list[Node]]:
    started = start_nodes(store_url, NODES)
    yield started
    for n in started:
        n.stop()


def test_finding1_burst_through_several_service_instances(nodes: list[Node]) -> None:
    out = post(nodes[0].url, "/v1/enroll", {"serial": "V", "secret": SECRET_B32, "at": START,
                                            "code1": code_at_step(STEP0 - 1), "code2": code_at_step(STEP0)})
    assert out["ok"], out
    at = START + 60
    valid = {code_at_step(STEP0 + k) for k in range(-1, 5)}
    codes = [c for c in (f"{i:06d}" for i in range(GUESSES + 10)) if c not in valid][:GUESSES]
    gate = threading.Barrier(THREADS)
    reasons: list[str] = []
    lock = threading.Lock()

    def fire(i: int) -> None:
        gate.wait(timeout=60)
        for j, code in enumerate(codes[i::THREADS]):
            node = nodes[(i + j) % NODES]
            status, body = call(node.url, "POST", "/v1/check", {"serial": "V", "code": code, "at": at},
                                timeout=60)
            with lock:
                reasons.append(body["reason"] if status == 200 else f"http {status}")

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    got = Counter(reasons)
    assert sum(got.values()) == GUESSES, got
    assert got["invalid"] == 3, got  # the default policy's budget before the back-off: never more
    assert set(got) <= {"invalid", "throttled"}, got
    shown: dict[str, Any] = call(nodes[1].url, "GET", "/v1/credentials/V")[1]
    assert shown["failures"] == 3, "the store counted exactly the evaluated guesses"
