"""Adversarial inputs for tokens.browser: what a page (or anyone reaching the demo RP) can send.

Each test asserts a typed error or a valid answer — never an uncaught exception, never a 500."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.fuzz._settings import FUZZ
from tokens.browser import DomErrorName, QRCodeNotFoundError, VirtualWebAuthn, secret_from_text
from tokens.browser.rp_app import create_app
from tokens.browser.rp_model import RelyingParty
from tokens.browser.webauthn import origin_of

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | \
    st.text(max_size=20)
JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=5), max_leaves=20)
NAMES = {n.value for n in DomErrorName}


@FUZZ
@given(st.text(max_size=200))
def test_secret_from_text_is_bytes_or_not_found(text: str) -> None:
    try:
        secret = secret_from_text(text)
    except QRCodeNotFoundError:
        return
    assert isinstance(secret, bytes) and len(secret) >= 10


@FUZZ
@given(st.text(max_size=80))
def test_origin_of_never_raises(url: str) -> None:
    out = origin_of(url)
    assert out == "null" or out.startswith(("http://", "https://"))


_bridge = VirtualWebAuthn(inline_wait=5.0)
_source = {"frame": SimpleNamespace(url="http://localhost:8000/page")}
_keys = st.sampled_from(["rp", "user", "challenge", "pubKeyCredParams", "timeout", "excludeCredentials",
                         "allowCredentials", "rpId", "extensions", "authenticatorSelection", "attestation"])


@FUZZ
@given(st.sampled_from(["create", "get", "poll", "cancel", "bogus"]),
       st.dictionaries(_keys, JSON, max_size=6), JSON)
def test_binding_answers_every_message(op: str, public_key: dict[str, Any], other: Any) -> None:
    for msg in ({"op": op, "publicKey": public_key, "id": 1}, other, {"op": op, "id": other}):
        reply = _bridge._on_call(_source, msg)
        assert reply["status"] in ("ok", "error", "pending", "cancelled"), reply
        if reply["status"] == "error":
            assert reply["name"] in NAMES, reply


_client = TestClient(create_app(RelyingParty()), raise_server_exceptions=False)
_paths = st.sampled_from([f"/api/webauthn/{k}/{s}" for k in ("register", "login")
                          for s in ("begin", "finish")])


@FUZZ
@given(_paths, JSON)
def test_rp_api_never_500(path: str, body: Any) -> None:
    r = _client.post(path, content=json.dumps(body))
    assert r.status_code in (200, 400), (r.status_code, r.text)


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "rawId", "type", "response", "clientExtensionResults"]), JSON))
def test_rp_finish_with_garbage_credentials_is_400(credential: dict[str, Any]) -> None:
    begin = _client.post("/api/webauthn/register/begin", json={"user": "alice"}).json()
    body = {"ceremony": begin["ceremony"], "credential": credential}
    r = _client.post("/api/webauthn/register/finish", json=body)
    assert r.status_code == 400, r.text
