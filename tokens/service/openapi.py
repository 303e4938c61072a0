"""The OpenAPI 3.1 description of the verification service, served at ``/openapi.json``.

Hand-written (no framework magic); the request bodies come from :mod:`.schema`, the same models
the handlers validate with, so the description cannot drift from what is enforced.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..verifier.model import Reason
from ._http import ERROR_STATUS
from .schema import MODELS, SERIAL


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_ERR = {"description": "error", "content": {"application/json": {"schema": _ref("Error")}}}
_COMMON_ERRORS = {"400": _ERR, "401": _ERR, "413": _ERR, "415": _ERR, "422": _ERR, "429": _ERR, "503": _ERR}

_REASONS = [r.value for r in Reason]
_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string", "enum": sorted(ERROR_STATUS)},
                       "message": {"type": "string"}}}}},
    **{m.name: m.openapi() for m in MODELS},
    "VerifyResult": {"type": "object", "required": ["ok", "reason", "serial"], "properties": {
        "ok": {"type": "boolean"},
        "reason": {"type": "string", "enum": _REASONS},
        "serial": {"type": "string"}, "step": {"type": ["integer", "null"]},
        "offset_steps": {"type": ["integer", "null"]},
        "retry_after": {"type": "number", "description": "seconds of back-off left when throttled"},
        "auth_time": {"type": ["number", "null"], "description": "time of a successful authentication"},
        "window": {"type": ["array", "null"], "items": {"type": "integer"}},
        "predicted_offset": {"type": ["number", "null"]}}},
    "BatchResult": {"type": "object", "properties": {
        "results": {"type": "array", "items": _ref("VerifyResult")},
        "ok": {"type": "integer", "description": "how many were accepted"}}},
    "SyncResult": {"type": "object", "required": ["ok", "reason", "serial"], "properties": {
        "ok": {"type": "boolean"},
        "reason": {"type": "string", "enum": _REASONS},
        "serial": {"type": "string"}, "step": {"type": ["integer", "null"]},
        "offset_steps": {"type": ["integer", "null"]}, "retry_after": {"type": "number"},
        "credential": _ref("Credential")}},
    "Credential": {"type": "object", "description": "a registered token; never includes the secret",
                   "properties": {k: {} for k in (
                       "serial", "kind", "algorithm", "digits", "period", "counter", "status", "last_step",
                       "offset_steps", "failures", "throttle_until", "locked", "issuer", "account",
                       "created_at", "enabled_at", "last_used_at", "last_failure_at", "updated_at",
                       "drift")}},
    "AdminResult": {"type": "object", "properties": {"ok": {"type": "boolean"},
                                                     "credential": _ref("Credential")}},
    "Health": {"type": "object", "description": "without the API key (when one is set) only 'status'",
               "properties": {"status": {"type": "string", "enum": ["ok"]},
                              "store": {"type": "string"}, "pid": {"type": "integer"}}},
}


def _post(summary: str, req: str, resp: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"post": {"summary": summary, "requestBody": _body(req),
                     "responses": {"200": _ok(resp, "the outcome (ok true or false)"), **_COMMON_ERRORS,
                                   **(extra or {})}}}


def openapi_spec(auth: bool = False) -> dict[str, Any]:
    """The description; with ``auth`` every operation except health and this one needs the key."""
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "tokensim verification service", "version": __version__,
                 "description": "OTP verification with drift tracking and exactly-once replay protection "
                                "across any number of service processes sharing one store."},
        "paths": {
            "/v1/enroll": _post("Register a token and enable it with two consecutive codes", "EnrollRequest",
                                "SyncResult", {"409": _ERR}),
            "/v1/enable": _post("Enable a pending credential (e.g. a PSKC import) with two consecutive codes",
                                "SyncRequest", "SyncResult", {"404": _ERR}),
            "/v1/check": _post("Verify one code", "CheckRequest", "VerifyResult"),
            "/v1/check/batch": _post("Verify many codes in one request", "BatchRequest", "BatchResult"),
            "/v1/resync": _post("Resynchronise with two consecutive codes", "SyncRequest", "SyncResult"),
            "/v1/disable": _post("Disable a credential", "SerialRequest", "AdminResult", {"404": _ERR}),
            "/v1/unlock": _post("Clear failures, back-off and lock", "SerialRequest", "AdminResult",
                                {"404": _ERR}),
            "/v1/credentials/{serial}": {"get": {
                "summary": "Show a credential (no secret) and its drift estimate",
                "parameters": [{"name": "serial", "in": "path", "required": True,
                                "schema": SERIAL.openapi()}],
                "responses": {"200": _ok("Credential", "the credential"), "404": _ERR, "401": _ERR,
                              "503": _ERR}}},
            "/health": {"get": {"summary": "Liveness and store reachability", "security": [],
                                "responses": {"200": _ok("Health", "healthy"), "503": _ERR}}},
            "/openapi.json": {"get": {"summary": "This description", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3.1 document"}}}},
        },
        "components": {"schemas": _SCHEMAS},
    }
    if auth:
        spec["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
        spec["security"] = [{"bearer": []}, {"apiKey": []}]
    return spec
