"""The verification service: the verifier's operations as JSON over HTTP (starlette ASGI app).

    POST /v1/enroll       register a token (otpauth URI or base32 secret) and enable it with two codes
    POST /v1/enable       enable a pending credential (e.g. a PSKC import) with two consecutive codes
    POST /v1/check        verify one code                     -> the verifier's result
    POST /v1/check/batch  verify many codes in one request    -> {"results": [...]}, in order
    POST /v1/resync       two consecutive codes in the wide window
    POST /v1/disable      stop accepting codes for a serial
    POST /v1/unlock       clear failures, back-off and lock
    GET  /v1/credentials/{serial}   the credential without its secret, plus the drift estimate
    GET  /health          liveness (no auth); with the key also the store, pid and pool
    GET  /openapi.json    this API described as OpenAPI 3.1 (no auth)

Serials go in the body (an AWS serial is an ARN with ``/`` in it), except for the read-only show.
Failed authentications are results, not errors: HTTP 200 with ``"ok": false`` and a ``reason``.
Errors are ``{"error": {"code", "message"}}`` with the status of :data:`._http.ERROR_STATUS`.

Each process opens one store (a pooled PostgreSQL store, or SQLite) at start-up.  Verifications
(``/v1/check``, ``/v1/check/batch``) go through a group-commit queue (:mod:`.commit`): what
arrives together shares one durable commit, answered only after it.  ``POST /v1/check`` is also
served by a small pure-ASGI fast path (:class:`_FastCheck`) that skips starlette's routing and
request objects — the same validation (:mod:`.schema`), guard and queue.  Other store calls run
in the worker thread pool, one :class:`Verifier` per thread.

A global guard (:mod:`.guard`) bounds evaluated failures per client address and per process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import InputError, TokensimError
from ..keyring import KeyringError
from ..otp import decode_secret
from ..params import OtpParams
from ..uri import parse_otpauth
from ..verifier.core import Verifier
from ..verifier.enroll import enroll as enroll_token
from ..verifier.errors import CredentialExistsError, UnknownCredentialError, VerifierError
from ..verifier.model import Credential, Reason, SyncResult
from ..verifier.policy import DEFAULT_POLICY, Policy
from ..verifier.store import Store
from ..verifier.stores import describe_url, is_postgres_url, open_store
from ._http import (
    ApiError,
    ApiKeyMiddleware,
    Disconnected,
    FastJSON,
    authorized,
    dumps,
    error_response,
    parse_json,
    read_body,
    read_json,
)
from .commit import Committer
from .guard import Budget, FailureGuard
from .openapi import openapi_spec
from .schema import CHECK, ENROLL, SERIAL_ONLY, SYNC

__all__ = ["ServiceConfig", "create_app", "open_service_store"]

log = logging.getLogger("tokensim.service")
T = TypeVar("T")

OPEN_PATHS = frozenset({"/health", "/openapi.json"})
CLIENT_BUDGET = Budget(30, 0.1)  # evaluated failures per client address: 30 at once, then 6 a minute
SERVICE_BUDGET = Budget(300, 5.0)  # ... per service process: 300 at once, then 5 a second


@dataclass(frozen=True)
class ServiceConfig:
    """Everything one service process needs.  ``api_key`` None = no authentication."""

    db: str
    api_key: str | None = field(default=None, repr=False)
    trust_client_time: bool = False
    max_body: int = 256 * 1024
    max_batch: int = 1000
    pool_size: int = 8
    policy: Policy = DEFAULT_POLICY
    # the global guard: evaluated failures per client address and per process (None = off)
    client_budget: Budget | None = CLIENT_BUDGET
    service_budget: Budget | None = SERVICE_BUDGET


def open_service_store(config: ServiceConfig) -> Store:
    options: dict[str, Any] = {"pool_size": config.pool_size} if is_postgres_url(config.db) else {}
    return open_store(config.db, **options)


class _State:
    """Per-process: the store, a Verifier per worker thread, the guard and the commit queue."""

    def __init__(self, config: ServiceConfig, store: Store | None = None) -> None:
        self.config = config
        self.store: Store = store if store is not None else open_service_store(config)
        self._local = threading.local()
        self.key = config.api_key.encode() if config.api_key else None
        self.guard = FailureGuard(config.client_budget, config.service_budget)
        workers = config.pool_size if is_postgres_url(config.db) else 1  # one SQLite connection
        self.committer = Committer(self.store, lambda: Verifier(self.store, config.policy), workers=workers)

    def verifier(self) -> Verifier:
        v: Verifier | None = getattr(self._local, "verifier", None)
        if v is None:
            v = Verifier(self.store, self.config.policy)
            self._local.verifier = v
        return v


def _state(request: Request) -> _State:
    st: _State = request.app.state.tokensim
    return st


def _api_error_of(e: BaseException) -> ApiError:
    """The API error for a library error raised while serving a request."""
    if isinstance(e, ApiError):
        return e
    if isinstance(e, UnknownCredentialError):
        return ApiError("not_found", str(e))
    if isinstance(e, CredentialExistsError):
        return ApiError("conflict", str(e))
    if isinstance(e, InputError):
        return ApiError("invalid_request", str(e))
    if isinstance(e, VerifierError | KeyringError):
        # the store could not be reached (PostgresStoreError), is broken (schema) or its seeds do
        # not open with the configured key: retryable by an operator
        log.warning("store error: %s", e)
        return ApiError("store_unavailable", str(e))
    if isinstance(e, TokensimError):
        return ApiError("invalid_request", str(e))
    raise e


async def _blocking(fn: Callable[[], T]) -> T:
    """Run a store-touching call in the thread pool, mapping library errors to API errors."""
    try:
        return await run_in_threadpool(fn)
    except Exception as e:
        raise _api_error_of(e) from None


def _client(scope: Scope) -> str:
    peer = scope.get("client")
    return str(peer[0]) if peer else "unknown"


def _admit(st: _State, scope: Scope) -> None:
    wait = st.guard.admit(_client(scope))
    if wait is not None:
        raise ApiError("rate_limited", "too many failed codes from this client or this service; "
                       f"retry in {wait:.0f} s", headers={"Retry-After": str(max(1, round(wait)))})


async def _verify(st: _State, scope: Scope,
                  items: list[tuple[str, str, float | None]]) -> list[dict[str, Any]]:
    """Guard, group-committed verification, guard bookkeeping; the results as dicts."""
    _admit(st, scope)
    try:
        results = await st.committer.verify(items)
    except Exception as e:
        raise _api_error_of(e) from None
    st.guard.failed(_client(scope), sum(1 for r in results if r.reason is Reason.INVALID))
    return [r.to_dict() for r in results]


# ---------------------------------------------------------------------------- endpoints
def _registration(req: dict[str, Any]) -> OtpParams:
    """The token's parameters, from ``uri`` or from the separate fields (validated by ENROLL)."""
    try:
        if req["uri"]:
            return parse_otpauth(req["uri"]).params()
        if not req["secret"]:
            raise ApiError("invalid_request", "missing field 'secret' (or 'uri')")
        return OtpParams(req["kind"], decode_secret(req["secret"]), req["algorithm"], req["digits"],
                         req["period"], req["counter"], issuer=req["issuer"] or "",
                         account=req["account"] or "")
    except (InputError, ValueError) as e:
        raise ApiError("invalid_request", str(e)) from None


async def _enabling(st: _State, scope: Scope, serial: str,
                    sync: Callable[[Verifier], SyncResult]) -> Response:
    """Run ``sync`` (an enroll or enable of ``serial``) in the pool; its result, with the credential
    when it succeeded."""

    def run() -> dict[str, Any]:
        v = st.verifier()
        res = sync(v)
        out = res.to_dict()
        if res.ok:
            out["credential"] = v.get(serial).to_dict()
        return out

    out = await _blocking(run)
    _count_sync_failure(st, scope, out)
    return FastJSON(out)


async def enroll(request: Request) -> Response:
    st = _state(request)
    req = ENROLL.read(await read_json(request, st.config.max_body), trust_time=st.config.trust_client_time)
    serial, code1, code2, at = req["serial"], req["code1"], req["code2"], req["at"]
    params = _registration(req)
    _admit(st, request.scope)
    # the library's one enrollment routine
    return await _enabling(st, request.scope, serial,
                           lambda v: enroll_token(v, serial, params, code1, code2, at=at))


async def enable(request: Request) -> Response:
    st = _state(request)
    req = SYNC.read(await read_json(request, st.config.max_body), trust_time=st.config.trust_client_time)
    serial, code1, code2, at = req["serial"], req["code1"], req["code2"], req["at"]
    _admit(st, request.scope)

    def sync(v: Verifier) -> SyncResult:
        v.get(serial)  # unknown serial: 404
        return v.enable(serial, code1, code2, at=at)

    return await _enabling(st, request.scope, serial, sync)


_GUESSES = frozenset({Reason.INVALID.value, Reason.NOT_FOUND.value, Reason.NOT_CONSECUTIVE.value})


def _count_sync_failure(st: _State, scope: Scope, out: dict[str, Any]) -> None:
    if out.get("reason") in _GUESSES:
        st.guard.failed(_client(scope))


async def check(request: Request) -> Response:
    """(Normally answered by :class:`_FastCheck`; this route is its twin for the route table.)"""
    st = _state(request)
    req = CHECK.read(await read_json(request, st.config.max_body), trust_time=st.config.trust_client_time)
    (res,) = await _verify(st, request.scope, [(req["serial"], req["code"], req["at"])])
    return FastJSON(res)


async def check_batch(request: Request) -> Response:
    st = _state(request)
    body = await read_json(request, st.config.max_body)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_request", "'items' must be a non-empty list of {serial, code[, at]}")
    if len(items) > st.config.max_batch:
        raise ApiError("payload_too_large", f"at most {st.config.max_batch} items per batch")
    parsed: list[tuple[str, str, float | None]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError("invalid_request", f"items[{i}] must be an object")
        try:
            r = CHECK.read(item, trust_time=st.config.trust_client_time)
        except ApiError as e:
            raise ApiError(e.code, f"items[{i}]: {e.message}") from None
        parsed.append((r["serial"], r["code"], r["at"]))
    results = await _verify(st, request.scope, parsed)
    return FastJSON({"results": results, "ok": sum(1 for r in results if r["ok"])})


async def resync(request: Request) -> Response:
    st = _state(request)
    req = SYNC.read(await read_json(request, st.config.max_body), trust_time=st.config.trust_client_time)
    _admit(st, request.scope)
    res = await _blocking(lambda: st.verifier().resync(req["serial"], req["code1"], req["code2"],
                                                       at=req["at"]))
    out = res.to_dict()
    _count_sync_failure(st, request.scope, out)
    return FastJSON(out)


def _admin(action: Callable[[Verifier, str], None]) -> Callable[[Request], Any]:
    """An endpoint that applies ``action(verifier, serial)`` and answers with the credential."""

    async def endpoint(request: Request) -> Response:
        st = _state(request)
        serial = SERIAL_ONLY.read(await read_json(request, st.config.max_body), trust_time=False)["serial"]

        def run() -> Credential:
            action(st.verifier(), serial)
            return st.verifier().get(serial)

        cred = await _blocking(run)
        return JSONResponse({"ok": True, "credential": cred.to_dict()})

    return endpoint


disable = _admin(lambda v, serial: v.disable(serial))
unlock = _admin(lambda v, serial: v.unlock(serial))


async def show(request: Request) -> Response:
    st = _state(request)
    serial = str(request.path_params["serial"])

    def run() -> dict[str, Any]:
        v = st.verifier()
        cred = v.get(serial)
        out = cred.to_dict()
        if cred.kind.value == "totp":
            est = v.drift(serial)
            out["drift"] = {**est.to_dict(), "window_coverage": v.coverage(est)}
        return out

    return JSONResponse(await _blocking(run))


async def health(request: Request) -> Response:
    st = _state(request)
    try:
        await _blocking(lambda: st.store.get("health-probe"))
    except ApiError as e:
        if not authorized(request.scope, st.key):
            return error_response("store_unavailable", "the store is not reachable")
        return error_response("store_unavailable", e.message)
    if not authorized(request.scope, st.key):  # #19 finding 10: liveness only, no store path or pid
        return FastJSON({"status": "ok"})
    out: dict[str, Any] = {"status": "ok", "store": describe_url(st.config.db), "pid": os.getpid()}
    stats = getattr(st.store, "pool_stats", None)
    if callable(stats):  # PostgreSQL: connections, waits (this worker process only)
        out["pool"] = stats()
    return JSONResponse(out)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_spec(auth=_state(request).config.api_key is not None))


# ---------------------------------------------------------------------------- errors
async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.code, exc.message, exc.status, exc.headers)


async def _disconnected(request: Request, exc: Exception) -> Response:
    """#19 finding 5: a client gone mid-body is one log line; the answer goes nowhere."""
    log.info("client %s went away before its request body to %s was complete", _client(request.scope),
             request.url.path)
    return Response(status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
    return error_response(code, str(exc.detail), exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    return error_response("internal", "internal error", 500)


def create_app(config: ServiceConfig, store: Store | None = None) -> Starlette:
    """The ASGI app.  The store (opened at start-up unless one is given) is closed at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.tokensim = await run_in_threadpool(_State, config, store)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.tokensim.committer.close)
            await run_in_threadpool(app.state.tokensim.store.close)

    routes = [
        Route("/v1/enroll", enroll, methods=["POST"]),
        Route("/v1/enable", enable, methods=["POST"]),
        Route("/v1/check", check, methods=["POST"]),
        Route("/v1/check/batch", check_batch, methods=["POST"]),
        Route("/v1/resync", resync, methods=["POST"]),
        Route("/v1/disable", disable, methods=["POST"]),
        Route("/v1/unlock", unlock, methods=["POST"]),
        Route("/v1/credentials/{serial:path}", show, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    middleware = ([Middleware(ApiKeyMiddleware, api_key=config.api_key, open_paths=OPEN_PATHS)]
                  if config.api_key else [])
    middleware.append(Middleware(_FastCheck))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                                         Disconnected: _disconnected, Exception: _internal_error})


_JSON_HEADERS = [(b"content-type", b"application/json")]


class _FastCheck:
    """``POST /v1/check`` without starlette's routing, Request and Response objects: raw ASGI
    messages, the same limits, validation, guard and group-commit queue as the route.  Sits
    after the API-key middleware; every other request passes through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/check" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        st: _State = scope["app"].state.tokensim
        try:
            declared = ctype = None
            for name, value in scope["headers"]:
                if name == b"content-length":
                    declared = value.decode("latin-1")
                elif name == b"content-type":
                    ctype = value.decode("latin-1")
            if ctype is not None and ctype.split(";")[0].strip().lower() != "application/json":
                raise ApiError("unsupported_media_type", f"expected application/json, got {ctype!r}")
            body = parse_json(await read_body(receive, st.config.max_body, declared))
            req = CHECK.read(body, trust_time=st.config.trust_client_time)
            (res,) = await _verify(st, scope, [(req["serial"], req["code"], req["at"])])
            await _send(send, 200, dumps(res))
        except ApiError as e:
            headers = [(k.lower().encode(), v.encode()) for k, v in (e.headers or {}).items()]
            await _send(send, e.status, dumps({"error": {"code": e.code, "message": e.message}}), headers)
        except Disconnected:
            log.info("client %s went away before its request body to /v1/check was complete",
                     _client(scope))


async def _send(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
