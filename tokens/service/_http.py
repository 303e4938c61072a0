"""HTTP plumbing of the service: structured errors, bounded JSON bodies, API-key auth.

Every error leaves as ``{"error": {"code": "<machine code>", "message": "<one line>"}}`` with a
fitting status; codes are listed in :data:`ERROR_STATUS` (and in the OpenAPI description).

Bodies are bounded before they are parsed: at most ``limit`` bytes, and at most
:data:`MAX_DEPTH` levels of nesting (no request of this API needs more than 3), so a body of
nested brackets is a 400, never a RecursionError.  A client that goes away mid-body is logged
in one line and gets no answer.  JSON goes through orjson when it is installed.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("tokensim.service")
MAX_DEPTH = 8
# MAX_DEPTH + 1 brackets opened in a row (whitespace between): the shape of a nesting bomb,
# found by the regex engine before any parser recurses.  Other deep shapes hit the parser's own
# limit (orjson: 1024 levels; json: RecursionError), which is caught the same way.
_TOO_DEEP = re.compile(rb"(?:[\[{]\s*){%d}" % (MAX_DEPTH + 1))

try:
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)

    _DECODE_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, ValueError, UnicodeDecodeError)
except ImportError:  # pragma: no cover - orjson is in the service extra
    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()

    def _loads(raw: bytes) -> Any:
        return json.loads(raw, parse_constant=_no_constant)

    _DECODE_ERRORS = (ValueError, UnicodeDecodeError)

ERROR_STATUS: dict[str, int] = {
    "invalid_json": 400,
    "invalid_request": 422,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal": 500,
    "store_unavailable": 503,
}


class ApiError(Exception):
    """An error answered to the client as a structured body."""

    def __init__(self, code: str, message: str, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or ERROR_STATUS.get(code, 400)
        self.headers = headers


class Disconnected(Exception):
    """The client went away before its request body was complete: nobody to answer."""


class FastJSON(JSONResponse):
    """JSONResponse rendered with orjson when available."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def error_response(code: str, message: str, status: int | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return FastJSON({"error": {"code": code, "message": message}},
                    status_code=status or ERROR_STATUS.get(code, 400), headers=headers)


def parse_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object, refusing nesting deeper than :data:`MAX_DEPTH`."""
    if _TOO_DEEP.search(raw):
        raise ApiError("invalid_json", f"request body nests deeper than {MAX_DEPTH} levels")
    try:
        body = _loads(raw or b"null")
    except RecursionError:
        raise ApiError("invalid_json", f"request body nests deeper than {MAX_DEPTH} levels") from None
    except _DECODE_ERRORS as e:
        raise ApiError("invalid_json", f"request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_request", "request body must be a JSON object")
    return body


async def read_body(receive: Receive, limit: int, declared: str | None) -> bytes:
    """The raw body of an ASGI request, at most ``limit`` bytes (declared or sent)."""
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise ApiError("invalid_request", "bad Content-Length") from None
        if n > limit:
            raise ApiError("payload_too_large", f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise Disconnected()
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:  # a chunked body that lied or never said
            raise ApiError("payload_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
        if not msg.get("more_body", False):
            return b"".join(chunks)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object, refusing more than ``limit`` bytes (declared or sent)."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError("unsupported_media_type", f"expected application/json, got {ctype!r}")
    return parse_json(await read_body(request.receive, limit, request.headers.get("content-length")))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")



# -- field readers: the rules of tokens.service.schema.Field, for handlers without a model --------
def _field(**kw: Any) -> Any:
    from .schema import Field

    return Field(**kw)


def get_str(body: dict[str, Any], name: str, *, required: bool = True, max_len: int = 256,
            default: str = "") -> str:
    v: str = _field(name=name, kind="string", required=required, max_len=max_len,
                    default=default).read(body, False)
    return v


def get_code(body: dict[str, Any], name: str) -> str:
    v: str = _field(name=name, kind="code", required=True).read(body, False)
    return v


def get_int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    v: int = _field(name=name, kind="integer", default=default, lo=lo, hi=hi).read(body, False)
    return v


def get_time(body: dict[str, Any], trusted: bool) -> float | None:
    """The optional ``at`` (Unix seconds) — only when the service trusts client clocks."""
    from .schema import AT

    v: float | None = AT.read(body, trusted)
    return v


def authorized(scope: Scope, key: bytes | None) -> bool:
    """Whether the request carries the API key (always, when the service has none)."""
    if key is None:
        return True
    presented = b""
    for name, value in scope.get("headers", []):
        if name == b"x-api-key":
            presented = value
        elif name == b"authorization" and value[:7].lower() == b"bearer ":
            presented = value[7:].strip()
    return hmac.compare_digest(presented, key)


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
        if not authorized(scope, self.key):
            resp = error_response("unauthorized", "missing or wrong API key",
                                  headers={"WWW-Authenticate": "Bearer"})
            await resp(scope, receive, send)
            return
        await self.app(scope, receive, send)
