"""The ASGI app (starlette): one query-protocol route for IAM and STS, plus two JSON helpers.

    POST /  (or GET /?Action=...)        IAM and STS actions, XML in the AWS query protocol
    GET  /_tokensim/health               {"ok": true, "account_id": ...}
    GET  /_tokensim/credentials/{AKID}   the MFA context of issued credentials (no secrets)

The backend's work (SQLite, the verifier) runs in the thread pool, off the event loop.  With an
:class:`~tokens.awsserver.authz.Authorizer`, IAM actions of IAM users are checked against policies.
"""

from __future__ import annotations

import sys
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import TokensimError
from . import iam, sts
from .authz import Authorizer
from .backend import Backend
from .errors import ApiError
from .protocol import QueryRequest, parse_request, render_error, render_result

XML = "text/xml"
ACTIONS = {"iam": iam.ACTIONS, "sts": sts.ACTIONS}


def dispatch(backend: Backend, req: QueryRequest,
             authorizer: Authorizer | None = None) -> tuple[int, bytes, dict[str, str]]:
    """Run one request: (HTTP status, XML body, extra headers)."""
    headers = {"x-amzn-RequestId": req.request_id}
    try:
        handler = ACTIONS[req.service].get(req.action)
        if handler is None:
            raise ApiError("InvalidAction", f"Could not find operation {req.action or '(none)'} for version "
                           f"{req.version or '(none)'}", 400)
        caller = backend.caller(req)
        if authorizer is not None:
            authorizer.check(backend, req, caller)
        result = handler(backend, req, caller)
        if req.action == "GetCallerIdentity":
            headers.update(sts.mfa_headers(backend, caller))
        return 200, render_result(req, result), headers
    except ApiError as e:
        return e.status, render_error(req.service, e.code, e.message, req.request_id, e.fault), headers
    except TokensimError as e:  # a library refusal (bad input the checks above did not catch)
        return 400, render_error(req.service, "ValidationError", str(e), req.request_id), headers
    except Exception as e:  # never a traceback to the client; one line to the server's stderr
        sys.stderr.write(f"tokensim aws serve: {req.action} failed: {type(e).__name__}: {e}\n")
        return 500, render_error(req.service, "InternalFailure", "internal error", req.request_id,
                                 "Receiver"), headers


def create_app(backend: Backend, authorizer: Authorizer | None = None) -> Starlette:
    async def query(request: Request) -> Response:
        req = parse_request(await request.body(), request.url.query, request.headers)
        status, body, headers = await run_in_threadpool(dispatch, backend, req, authorizer)
        return Response(body, status_code=status, media_type=XML, headers=headers)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "account_id": backend.account_id})

    async def credentials(request: Request) -> Response:
        akid = str(request.path_params["akid"])
        if await run_in_threadpool(backend.state.key, akid) is None:
            return JSONResponse({"error": f"no credentials {akid}"}, status_code=404)
        ctx: dict[str, Any] = await run_in_threadpool(backend.mfa_context, akid)
        return JSONResponse({"access_key_id": akid, **ctx})

    routes = [
        Route("/", query, methods=["GET", "POST"]),
        Route("/_tokensim/health", health, methods=["GET"]),
        Route("/_tokensim/credentials/{akid}", credentials, methods=["GET"]),
    ]
    return Starlette(routes=routes)
