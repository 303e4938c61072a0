"""Regression tests for the service findings of the attack run (#19) and the one-source schema (#18)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tokens.otp import MAX_DIGITS, MIN_DIGITS, check_period
from tokens.service.app import ServiceConfig, create_app
from tokens.service.guard import Budget
from tokens.service.schema import ENROLL, MAX_PERIOD

from .conftest import SECRET_B32, START, STEP0, code_at_step

KEY = "k" * 24


def _client(tmp_path: Path, **config: Any) -> TestClient:
    cfg = ServiceConfig(db=f"sqlite://{tmp_path / 'v.db'}", trust_client_time=True, **config)
    return TestClient(create_app(cfg), raise_server_exceptions=False)


def _enroll(c: TestClient, serial: str = "T1") -> None:
    r = c.post("/v1/enroll", json={"serial": serial, "secret": SECRET_B32, "code1": code_at_step(STEP0 - 1),
                                   "code2": code_at_step(STEP0), "at": START})
    assert r.status_code == 200 and r.json()["ok"], r.text


@pytest.mark.parametrize("path", ["/v1/check", "/v1/check/batch", "/v1/enroll", "/v1/resync"])
def test_finding5_nested_brackets_are_a_4xx_not_a_500(tmp_path: Path, path: str) -> None:
    with _client(tmp_path, max_body=512 * 1024) as c:
        for bomb in (b"[" * 200_000, b"{\"a\":" * 40_000, b"[1," * 60_000, b"[ " * 90_000):
            r = c.post(path, content=bomb, headers={"Content-Type": "application/json"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json", r.text[:200]


def test_finding5_client_gone_mid_body_logs_one_line(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(ServiceConfig(db=f"sqlite://{tmp_path / 'v.db'}"))
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for path in ("/v1/check", "/v1/check/batch", "/v1/enroll"):
                msgs = iter([{"type": "http.request", "body": b'{"serial": "T1", ', "more_body": True},
                             {"type": "http.disconnect"}])

                async def receive(msgs: Any = msgs) -> dict[str, Any]:
                    return dict(next(msgs))

                async def send(m: dict[str, Any]) -> None:
                    sent.append(m)

                scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
                         "headers": [(b"content-type", b"application/json")], "query_string": b"",
                         "client": ("203.0.113.9", 5555), "server": ("t", 80), "scheme": "http",
                         "http_version": "1.1", "root_path": "", "app": app}
                await app(scope, receive, send)

    with caplog.at_level(logging.INFO, logger="tokensim.service"):
        asyncio.run(run())
    lines = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(lines) == 3 and all(r.exc_info is None for r in lines)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not any(m.get("status") == 500 for m in sent)


def test_finding10_health_without_the_key_is_liveness_only(tmp_path: Path) -> None:
    with _client(tmp_path, api_key=KEY) as c:
        r = c.get("/health")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert str(tmp_path) not in r.text
        full = c.get("/health", headers={"X-API-Key": KEY}).json()
        assert full["store"].endswith("v.db") and isinstance(full["pid"], int)


def test_finding9_per_client_budget_refuses_before_evaluating(tmp_path: Path) -> None:
    with _client(tmp_path, client_budget=Budget(5, 0.0), service_budget=None) as c:
        for i in range(6):
            _enroll(c, f"S{i}")
        bad = "000000" if code_at_step(STEP0 + 1) != "000000" else "111111"
        # spraying one wrong guess over many serials: each credential's own throttle never trips
        reasons = [c.post("/v1/check", json={"serial": f"S{i}", "code": bad, "at": START + 30})
                   for i in range(6)]
        assert [r.status_code for r in reasons] == [200] * 5 + [429]
        assert reasons[-1].json()["error"]["code"] == "rate_limited" and "retry-after" in reasons[-1].headers
        shown = c.get("/v1/credentials/S5").json()
        assert shown["failures"] == 0, "the refused guess was never evaluated"
        # even the right code is refused for this client now (the budget is spent)
        r = c.post("/v1/check", json={"serial": "S5", "code": code_at_step(STEP0 + 1), "at": START + 30})
        assert r.status_code == 429


def test_finding9_replays_do_not_count_toward_lockout(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        _enroll(c)
        code = code_at_step(STEP0 + 1)
        assert c.post("/v1/check", json={"serial": "T1", "code": code, "at": START + 30}).json()["ok"]
        for i in range(15):  # the attack run locked a credential with 15 replays of a used code
            r = c.post("/v1/check", json={"serial": "T1", "code": code, "at": START + 31 + i})
            assert r.json()["reason"] == "replayed"
        shown = c.get("/v1/credentials/T1").json()
        assert shown["failures"] == 0 and not shown["locked"]
        nxt = c.post("/v1/check", json={"serial": "T1", "code": code_at_step(STEP0 + 2), "at": START + 60})
        assert nxt.json()["ok"], "the owner is not locked out"


def test_schema_and_validation_are_one_source(tmp_path: Path) -> None:
    spec = ENROLL.openapi()["properties"]
    assert (spec["digits"]["minimum"], spec["digits"]["maximum"]) == (MIN_DIGITS, MAX_DIGITS)
    assert spec["period"]["maximum"] == MAX_PERIOD and check_period(MAX_PERIOD) == MAX_PERIOD
    with pytest.raises(ValueError):
        check_period(MAX_PERIOD + 1)
    with _client(tmp_path) as c:
        published = c.get("/openapi.json").json()["components"]["schemas"]["EnrollRequest"]
        assert published["properties"]["digits"]["maximum"] == MAX_DIGITS
        body = {"serial": "D", "secret": SECRET_B32, "code1": "123456", "code2": "234567", "at": START}
        r = c.post("/v1/enroll", json={**body, "digits": MAX_DIGITS + 1})  # 9 was "valid" by the schema
        assert r.status_code == 422 and "digits" in r.json()["error"]["message"]
        r = c.post("/v1/check", json={"serial": "D", "code": "1" * (MAX_DIGITS + 1), "at": START})
        assert r.status_code == 422


def test_finding9_service_wide_budget_and_refill() -> None:
    from tokens.clock import ManualClock
    from tokens.service.guard import FailureGuard

    clock = ManualClock(1000.0)
    g = FailureGuard(per_client=Budget(2, 0.5), service=Budget(3, 1.0), clock=clock)
    assert g.admit("a") is None
    g.failed("a", 2)
    wait = g.admit("a")
    assert wait is not None and wait == pytest.approx(2.0), "a's own budget is spent: 1 token in 2 s"
    assert g.admit("b") is None, "other clients are not affected by a's budget"
    g.failed("b", 1)
    wait = g.admit("c")
    assert wait is not None and wait == pytest.approx(1.0), "the service-wide budget is spent too"
    clock.advance(1.0)
    assert g.admit("c") is None and g.admit("a") is not None
    clock.advance(1.0)
    assert g.admit("a") is None, "budgets refill with time (injected clock)"
