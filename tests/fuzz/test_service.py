"""The verification service under arbitrary requests (#19 finding 5 and the rest of the HTTP
surface): any JSON body, any bytes, any path, method and headers, sent to the ASGI app in
process — the answer is a 2xx or a 4xx with a structured error, never a 500, never a hang."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._settings import FUZZ
from tokens.service.app import ServiceConfig, create_app

KEY = "fuzz-key-0123456789abcdef"
PATHS = ["/v1/check", "/v1/check/batch", "/v1/enroll", "/v1/resync", "/v1/disable", "/v1/unlock",
         "/v1/credentials/T1", "/health", "/openapi.json"]
SECRET_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30)
field_values = (st.text(max_size=30) | st.integers() | st.floats(allow_nan=False) | st.none()
                | st.booleans() | st.just("123456") | st.just(SECRET_B32) | st.just("T1")
                | st.just("otpauth://totp/x?secret=" + SECRET_B32) | st.just("otpauth://[") | json_values)
bodies = st.dictionaries(st.sampled_from(["serial", "code", "code1", "code2", "at", "secret", "uri", "kind",
                                          "algorithm", "digits", "period", "counter", "issuer", "account",
                                          "items"]), field_values, max_size=8)
header_values = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


class _App:
    def __init__(self, db: str) -> None:
        self.app = create_app(ServiceConfig(db=db, api_key=KEY, trust_client_time=True, max_body=8192))
        self.loop = asyncio.new_event_loop()
        self._life = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self._life.__aenter__())

    def close(self) -> None:
        self.loop.run_until_complete(self._life.__aexit__(None, None, None))
        self.loop.close()

    def request(self, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes,
                chunks: int = 1) -> tuple[int, bytes]:
        parts = [body[i::chunks] for i in range(chunks)] if chunks > 1 else [body]
        msgs = [{"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
                for i, p in enumerate(parts)]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return msgs.pop(0) if msgs else {"type": "http.disconnect"}

        async def send(m: dict[str, Any]) -> None:
            sent.append(m)

        scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode("utf-8", "replace"),
                 "headers": headers, "query_string": b"", "client": ("198.51.100.7", 4242),
                 "server": ("fuzz", 80), "scheme": "http", "http_version": "1.1", "root_path": ""}
        self.loop.run_until_complete(asyncio.wait_for(self.app(scope, receive, send), timeout=30))
        start = next(m for m in sent if m["type"] == "http.response.start")
        body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return int(start["status"]), body_out


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_App]:
    db = Path(tmp_path_factory.mktemp("fuzz-service")) / "v.sqlite3"
    a = _App(f"sqlite://{db}")
    auth = [(b"content-type", b"application/json"), (b"x-api-key", KEY.encode())]
    body = json.dumps({"serial": "T1", "secret": SECRET_B32, "code1": "287082", "code2": "359152",
                       "at": 45}).encode()
    a.request("POST", "/v1/enroll", auth, body)
    yield a
    with contextlib.suppress(Exception):
        a.close()


def _assert_answer(status: int, raw: bytes) -> None:
    assert status < 500, (status, raw[:300])
    if (status >= 400 and status != 405) or raw[:1] == b"{":
        doc = json.loads(raw)
        if status >= 400:
            assert set(doc["error"]) == {"code", "message"} and doc["error"]["message"]


@FUZZ
@given(path=st.sampled_from(PATHS), body=bodies, auth=st.booleans())
def test_any_json_object_body_is_answered(app: _App, path: str, body: dict[str, Any], auth: bool) -> None:
    headers = [(b"content-type", b"application/json")] + ([(b"x-api-key", KEY.encode())] if auth else [])
    status, raw = app.request("POST" if path not in ("/health", "/openapi.json") else "GET", path, headers,
                              json.dumps(body).encode())
    _assert_answer(status, raw)


@FUZZ
@given(path=st.sampled_from(PATHS), value=json_values, chunks=st.integers(1, 4))
def test_any_json_value_in_chunks(app: _App, path: str, value: Any, chunks: int) -> None:
    headers = [(b"content-type", b"application/json"), (b"x-api-key", KEY.encode())]
    _assert_answer(*app.request("POST", path, headers, json.dumps(value).encode(), chunks))


@FUZZ
@given(path=st.sampled_from(PATHS) | st.text(max_size=30).map(lambda t: "/" + t),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"]),
       body=st.binary(max_size=300) | st.sampled_from([b"[" * 5000, b"{\"a\":" * 3000, b"\xff\xfe", b"NaN"]),
       headers=st.lists(st.tuples(st.sampled_from([b"content-type", b"content-length", b"x-api-key",
                                                   b"authorization", b"x-other"]), header_values),
                        max_size=4))
def test_any_bytes_path_method_headers(app: _App, path: str, method: str, body: bytes,
                                       headers: list[tuple[bytes, bytes]]) -> None:
    _assert_answer(*app.request(method, path, [(b"x-api-key", KEY.encode()), *headers], body))


@FUZZ
@given(items=st.lists(st.fixed_dictionaries({"serial": st.sampled_from(["T1", "T2", "x" * 300]),
                                             "code": st.text(st.characters(), max_size=9)},
                                            optional={"at": st.floats() | st.integers() | st.text()}),
                      max_size=12))
def test_batches_of_anything(app: _App, items: list[dict[str, Any]]) -> None:
    headers = [(b"content-type", b"application/json"), (b"x-api-key", KEY.encode())]
    body = json.dumps({"items": items}, allow_nan=True).encode()
    _assert_answer(*app.request("POST", "/v1/check/batch", headers, body))
