"""The ASGI app (starlette): every AWS request goes through :func:`pipeline.handle`, plus admin routes.

    ANY  /...                              AWS APIs (IAM, STS: tokensim; everything else: moto)
    GET  /_tokensim/health                 {"ok": true, "account_id": ...}
    GET  /_tokensim/clock                  {"now": T, "iso": ..., "manual": bool}
    POST /_tokensim/clock                  {"advance": S} or {"set": T}  (manual clock only)
    GET  /_tokensim/credentials/{AKID}     the MFA context of issued credentials (no secrets)
    POST /_tokensim/signin                 console sign-in: {"user", "password", "mfa_code"?} →
                                           console session credentials

The body is read incrementally and refused past ``max_body`` (413, AWS-shaped) before it is
kept; the pipeline's work (SQLite, the verifier, moto) runs in the thread pool.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..clock import ManualClock
from . import shapes
from .backend import Backend
from .console import SigninError, signin
from .errors import AwsApiFault
from .http import DEFAULT_MAX_BODY, HttpRequest, read_capped
from .pipeline import Settings, handle

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]


def _protocol_of(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if "/s3/aws4_request" in auth or "%2Fs3%2Faws4_request" in request.url.query:
        return "rest-xml"
    if "/ec2/aws4_request" in auth:
        return "ec2"
    return "query"


def create_app(
    backend: Backend, settings: Settings | None = None, *, max_body: int = DEFAULT_MAX_BODY
) -> Starlette:
    cfg = settings or Settings()

    async def aws(request: Request) -> Response:
        try:
            body = await read_capped(request.stream(), max_body, request.headers.get("content-length"))
        except AwsApiFault as e:
            status, payload, headers = shapes.render(_protocol_of(request), "iam", e, "0")
            return Response(payload, status_code=status, headers={**headers, "connection": "close"})
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        req = HttpRequest(
            method=request.method,
            raw_path=raw_path.decode("latin-1"),
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            client_ip=request.client.host if request.client else "127.0.0.1",
            secure=request.url.scheme == "https",
        )
        r = await run_in_threadpool(handle, backend, cfg, req)
        return Response(r.body, status_code=r.status, headers=r.headers)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "account_id": backend.account_id})

    async def clock(request: Request) -> Response:
        c = backend.clock
        if request.method == "POST":
            if not isinstance(c, ManualClock):
                return JSONResponse({"error": "the clock is not manual (start with --clock manual)"}, 409)
            try:
                data = json.loads(await read_capped(request.stream(), 4096, None) or b"{}")
                if not isinstance(data, dict) or len(data) != 1 or not ({"advance", "set"} & data.keys()):
                    raise ValueError('expected {"advance": seconds} or {"set": epoch seconds}')
                value = float(data["advance"] if "advance" in data else data["set"])
                if not math.isfinite(value) or not 0 <= value < 2**40:
                    raise ValueError("the value must be finite, non-negative and below 2**40")
                if "advance" in data:
                    c.advance(value)
                else:
                    c.set(value)
            except (ValueError, TypeError, AwsApiFault) as e:
                return JSONResponse({"error": str(e)}, 400)
        from .context import iso

        return JSONResponse({"now": c.now(), "iso": iso(c.now()), "manual": isinstance(c, ManualClock)})

    async def credentials(request: Request) -> Response:
        akid = str(request.path_params["akid"])
        cred = await run_in_threadpool(backend.state.credentials.get, access_key_id=akid)
        if cred is None:
            return JSONResponse({"error": f"no credentials {akid[:32]}"}, status_code=404)
        now = backend.now()
        out: dict[str, Any] = {
            "access_key_id": akid,
            "session": cred.is_session,
            "user": cred.user_name,
            "role": cred.role_name,
            "origin": cred.origin or "access-key",
            "present": (cred.mfa_auth_time is not None) if cred.is_session else None,
            "auth_time": cred.mfa_auth_time,
            "mfa_serial": cred.mfa_serial,
            "age": None if cred.mfa_auth_time is None else max(0.0, now - cred.mfa_auth_time),
            "expires": cred.expires,
            "expired": cred.expires is not None and cred.expires <= now,
        }
        return JSONResponse(out)

    async def console(request: Request) -> Response:
        try:
            data = json.loads(await read_capped(request.stream(), 4096, None) or b"{}")
            if not isinstance(data, dict):
                raise SigninError("expected a JSON object")
            result = await run_in_threadpool(signin, backend, data)
        except (ValueError, SigninError, AwsApiFault) as e:
            return JSONResponse({"error": str(e)}, 401 if isinstance(e, SigninError) else 400)
        return JSONResponse(result)

    routes = [
        Route("/_tokensim/health", health, methods=["GET"]),
        Route("/_tokensim/clock", clock, methods=["GET", "POST"]),
        Route("/_tokensim/credentials/{akid}", credentials, methods=["GET"]),
        Route("/_tokensim/signin", console, methods=["POST"]),
        Route("/{path:path}", aws, methods=METHODS),
    ]
    return Starlette(routes=routes)
