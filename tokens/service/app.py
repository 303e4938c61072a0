"""The verification service: the verifier's operations as JSON over HTTP (starlette ASGI app).

    POST /v1/enroll       register a token (otpauth URI or base32 secret) and enable it with two codes
    POST /v1/enable       enable a pending credential (e.g. a PSKC import) with two consecutive codes
    POST /v1/check        verify one code                     -> the verifier's result
    POST /v1/check/batch  verify many codes in one request    -> {"results": [...]}, in order
    POST /v1/resync       two consecutive codes in the wide window
    POST /v1/disable      stop accepting codes for a serial
    POST /v1/unlock       clear failures, back-off and lock
    GET  /v1/credentials/{serial}   the credential without its secret, plus the drift estimate
    GET  /health          liveness + store reachability (no auth)
    GET  /openapi.json    this API described as OpenAPI 3.1 (no auth)

Serials go in the body (an AWS serial is an ARN with ``/`` in it), except for the read-only show.
Failed authentications are results, not errors: HTTP 200 with ``"ok": false`` and a ``reason``.
Errors are ``{"error": {"code", "message"}}`` with the status of :data:`._http.ERROR_STATUS`.

Each process opens one store (a pooled PostgreSQL store, or SQLite) at start-up; store calls
block, so they run in the worker thread pool.  One :class:`Verifier` per thread (its prepared-key
cache is not shared between threads).
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

from ..errors import InputError, TokensimError
from ..otp import Algorithm, decode_secret
from ..verifier.core import Verifier
from ..verifier.enroll import TokenParams
from ..verifier.enroll import enroll as enroll_token
from ..verifier.errors import CredentialExistsError, UnknownCredentialError, VerifierError
from ..verifier.model import Credential, Kind
from ..verifier.policy import DEFAULT_POLICY, Policy
from ..verifier.store import Store
from ..verifier.stores import describe_url, is_postgres_url, open_store
from ._http import ApiError, ApiKeyMiddleware, error_response, get_code, get_int, get_str, get_time, read_json
from .openapi import openapi_spec

__all__ = ["ServiceConfig", "create_app", "open_service_store"]

log = logging.getLogger("tokensim.service")
T = TypeVar("T")

OPEN_PATHS = frozenset({"/health", "/openapi.json"})


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


def open_service_store(config: ServiceConfig) -> Store:
    options: dict[str, Any] = {"pool_size": config.pool_size} if is_postgres_url(config.db) else {}
    return open_store(config.db, **options)


class _State:
    """Per-process: the store and a Verifier per worker thread."""

    def __init__(self, config: ServiceConfig, store: Store | None = None) -> None:
        self.config = config
        self.store: Store = store if store is not None else open_service_store(config)
        self._local = threading.local()

    def verifier(self) -> Verifier:
        v: Verifier | None = getattr(self._local, "verifier", None)
        if v is None:
            v = Verifier(self.store, self.config.policy)
            self._local.verifier = v
        return v


def _state(request: Request) -> _State:
    st: _State = request.app.state.tokensim
    return st


async def _blocking(fn: Callable[[], T]) -> T:
    """Run a store-touching call in the thread pool, mapping library errors to API errors."""
    try:
        return await run_in_threadpool(fn)
    except UnknownCredentialError as e:
        raise ApiError("not_found", str(e)) from None
    except CredentialExistsError as e:
        raise ApiError("conflict", str(e)) from None
    except InputError as e:
        raise ApiError("invalid_request", str(e)) from None
    except VerifierError as e:
        # the store could not be reached (PostgresStoreError) or is broken (schema): retryable
        log.warning("store error: %s", e)
        raise ApiError("store_unavailable", str(e)) from None
    except TokensimError as e:
        raise ApiError("invalid_request", str(e)) from None


# ---------------------------------------------------------------------------- endpoints
def _registration(body: dict[str, Any]) -> TokenParams:
    """The token's parameters, from ``uri`` or from the separate fields."""
    uri = get_str(body, "uri", required=False, max_len=2048)
    try:
        if uri:
            return TokenParams.from_uri(uri)
        secret = decode_secret(get_str(body, "secret", max_len=1024))
        kind = get_str(body, "kind", required=False, default="totp")
        if kind not in ("totp", "hotp"):
            raise ApiError("invalid_request", "'kind' must be 'totp' or 'hotp'")
        return TokenParams(
            secret, Kind(kind), Algorithm.parse(get_str(body, "algorithm", required=False, default="SHA1")),
            digits=get_int(body, "digits", 6, 6, 10), period=get_int(body, "period", 30, 1, 3600),
            counter=get_int(body, "counter", 0, 0, 2**63 - 1), issuer=get_str(body, "issuer", required=False),
            account=get_str(body, "account", required=False))
    except (InputError, ValueError) as e:
        raise ApiError("invalid_request", str(e)) from None


async def enroll(request: Request) -> Response:
    st = _state(request)
    body = await read_json(request, st.config.max_body)
    serial = get_str(body, "serial")
    code1, code2 = get_code(body, "code1"), get_code(body, "code2")
    at = get_time(body, st.config.trust_client_time)
    params = _registration(body)

    def run() -> dict[str, Any]:
        v = st.verifier()
        res = enroll_token(v, serial, params, code1, code2, at=at)  # the library's one routine
        out = res.to_dict()
        if res.ok:
            out["credential"] = v.get(serial).to_dict()
        return out

    return JSONResponse(await _blocking(run))


async def enable(request: Request) -> Response:
    st = _state(request)
    body = await read_json(request, st.config.max_body)
    serial = get_str(body, "serial")
    code1, code2 = get_code(body, "code1"), get_code(body, "code2")
    at = get_time(body, st.config.trust_client_time)

    def run() -> dict[str, Any]:
        v = st.verifier()
        v.get(serial)  # unknown serial: 404
        res = v.enable(serial, code1, code2, at=at)
        out = res.to_dict()
        if res.ok:
            out["credential"] = v.get(serial).to_dict()
        return out

    return JSONResponse(await _blocking(run))


async def check(request: Request) -> Response:
    st = _state(request)
    body = await read_json(request, st.config.max_body)
    serial, code = get_str(body, "serial"), get_code(body, "code")
    at = get_time(body, st.config.trust_client_time)
    res = await _blocking(lambda: st.verifier().verify(serial, code, at=at))
    return JSONResponse(res.to_dict())


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
            parsed.append((get_str(item, "serial"), get_code(item, "code"),
                           get_time(item, st.config.trust_client_time)))
        except ApiError as e:
            raise ApiError(e.code, f"items[{i}]: {e.message}") from None

    def run() -> list[dict[str, Any]]:
        v = st.verifier()
        with v.store.batch():  # group commit where the store supports it; answers only after it
            done = [v.verify(serial, code, at=at) for serial, code, at in parsed]
        return [r.to_dict() for r in done]

    results = await _blocking(run)
    return JSONResponse({"results": results, "ok": sum(1 for r in results if r["ok"])})


async def resync(request: Request) -> Response:
    st = _state(request)
    body = await read_json(request, st.config.max_body)
    serial = get_str(body, "serial")
    code1, code2 = get_code(body, "code1"), get_code(body, "code2")
    at = get_time(body, st.config.trust_client_time)
    res = await _blocking(lambda: st.verifier().resync(serial, code1, code2, at=at))
    return JSONResponse(res.to_dict())


def _admin(action: Callable[[Verifier, str], None]) -> Callable[[Request], Any]:
    """An endpoint that applies ``action(verifier, serial)`` and answers with the credential."""

    async def endpoint(request: Request) -> Response:
        st = _state(request)
        body = await read_json(request, st.config.max_body)
        serial = get_str(body, "serial")

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
            out["drift"] = v.drift(serial).to_dict()
        return out

    return JSONResponse(await _blocking(run))


async def health(request: Request) -> Response:
    st = _state(request)
    try:
        await _blocking(lambda: st.store.get("health-probe"))
    except ApiError as e:
        return error_response("store_unavailable", e.message)
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
    return error_response(exc.code, exc.message, exc.status)


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
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                     exception_handlers={ApiError: _api_error, HTTPException: _http_error,
                                         Exception: _internal_error})
