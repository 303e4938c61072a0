"""HTTP plumbing of the service: structured errors, bounded JSON bodies, API-key auth.

Every error leaves as ``{"error": {"code": "<machine code>", "message": "<one line>"}}`` with a
fitting status; codes are listed in :data:`ERROR_STATUS` (and in the OpenAPI description).
"""

from __future__ import annotations

import hmac
import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ERROR_STATUS: dict[str, int] = {
    "invalid_json": 400,
    "invalid_request": 422,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "internal": 500,
    "store_unavailable": 503,
}


class ApiError(Exception):
    """An error answered to the client as a structured body."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or ERROR_STATUS.get(code, 400)


def error_response(code: str, message: str, status: int | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}},
                        status_code=status or ERROR_STATUS.get(code, 400), headers=headers)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, refusing more than ``limit`` bytes (declared or sent)."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError("unsupported_media_type", f"expected application/json, got {ctype!r}")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise ApiError("invalid_request", "bad Content-Length") from None
        if n > limit:
            raise ApiError("payload_too_large", f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a chunked body that lied or never said
            raise ApiError("payload_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks) or b"null", parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError("invalid_json", f"request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "request body must be a JSON object")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# -- field readers (raise ApiError("invalid_request") naming the field) ----------------------
def get_str(body: dict[str, Any], name: str, *, required: bool = True, max_len: int = 256,
            default: str = "") -> str:
    v = body.get(name)
    if v is None:
        if required:
            raise ApiError("invalid_request", f"missing field {name!r}")
        return default
    if not isinstance(v, str) or not v or len(v) > max_len or not v.isprintable():
        raise ApiError("invalid_request", f"{name!r} must be a non-empty string of at most {max_len} "
                       "printable characters")
    return v


def get_code(body: dict[str, Any], name: str) -> str:
    """An OTP code as a string (leading zeros matter), at most 10 characters; the verifier judges it."""
    v = body.get(name)
    if not isinstance(v, str) or not 1 <= len(v) <= 10:
        raise ApiError("invalid_request", f"{name!r} must be the code as a string, e.g. \"012345\"")
    return v


def get_int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    v = body.get(name, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ApiError("invalid_request", f"{name!r} must be a whole number in {lo}..{hi}")
    return v


def get_time(body: dict[str, Any], trusted: bool) -> float | None:
    """The optional ``at`` (Unix seconds) — only when the service trusts client clocks."""
    v = body.get("at")
    if v is None:
        return None
    if not trusted:
        raise ApiError("invalid_request", "'at' is refused: this service uses its own clock "
                       "(start it with --trust-client-time for simulations)")
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
        raise ApiError("invalid_request", "'at' must be a finite number of Unix seconds")
    return float(v)


class ApiKeyMiddleware:
    """Pure ASGI middleware: requests outside ``open_paths`` need the key, as
    ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; compared in constant time."""

    def __init__(self, app: ASGIApp, api_key: str, open_paths: frozenset[str]) -> None:
        self.app = app
        self.key = api_key.encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        presented = b""
        for name, value in scope.get("headers", []):
            if name == b"x-api-key":
                presented = value
            elif name == b"authorization" and value[:7].lower() == b"bearer ":
                presented = value[7:].strip()
        if not hmac.compare_digest(presented, self.key):
            resp = error_response("unauthorized", "missing or wrong API key",
                                  headers={"WWW-Authenticate": "Bearer"})
            await resp(scope, receive, send)
            return
        await self.app(scope, receive, send)
