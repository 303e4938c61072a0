"""The demo relying party as a Starlette app, and :class:`RPServer` to run it (thread or foreground).

Pages (``?user=`` defaults to ``alice``)::

    GET  /                              links to everything
    GET  /totp/enroll?qr=img|canvas|svg&codes=2|1   QR code + "can't scan?" key + code form
    POST /totp/enroll                   code1 [code2] -> enabled / rejected
    GET  /totp/login, POST /totp/login  one code
    GET  /webauthn/register?rk=discouraged|preferred|required&uv=...&attestation=none|direct
    GET  /webauthn/login                with ?user=: allowCredentials; without: passkey login
    POST /api/webauthn/{register,login}/{begin,finish}   JSON
    GET  /api/state                     users, credentials (counters), events
    GET  /healthz

Nothing is persisted: the RP lives as long as the process.  Served at ``http://localhost:PORT``
(WebAuthn needs a secure context, and browsers treat ``http://localhost`` as one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fido2.utils import websafe_encode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .._asgi import ServerOwner, bind_tcp
from ..otp import encode_secret
from . import _rp_pages as pages
from .errors import BrowserError
from .rp_model import RelyingParty, RPError

_CHOICES = {"rk": ("discouraged", "preferred", "required"), "uv": ("discouraged", "preferred", "required"),
            "attestation": ("none", "direct", "indirect", "enterprise"), "qr": ("img", "canvas", "svg"),
            "codes": ("1", "2")}


def _param(request: Request, name: str, default: str) -> str:
    value = request.query_params.get(name, default)
    allowed = _CHOICES.get(name)
    if allowed is not None and value not in allowed:
        raise RPError(f"{name} must be one of {', '.join(allowed)}")
    return value


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0].strip() for k, v in parse_qs(body).items()}


async def _json(request: Request) -> dict[str, Any]:
    try:
        doc = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RPError("body is not JSON") from None
    if not isinstance(doc, dict):
        raise RPError("body must be a JSON object")
    return doc


def create_app(rp: RelyingParty) -> Starlette:
    async def index(request: Request) -> Response:
        return HTMLResponse(pages.index(request.query_params.get("user", "alice")))

    async def totp_enroll_page(request: Request) -> Response:
        user = request.query_params.get("user", "alice")
        uri = rp.totp_begin(user)
        codes = int(_param(request, "codes", "2"))
        request.app.state.codes[user] = codes
        qr = _param(request, "qr", "img")
        return HTMLResponse(pages.totp_enroll(user, uri.to_uri(), encode_secret(uri.secret), qr, codes))

    async def totp_enroll(request: Request) -> Response:
        form = await _form(request)
        user = form.get("user", "alice")
        two = request.app.state.codes.get(user, 2) == 2
        msg = rp.totp_enable(user, form.get("code1", ""), form.get("code2", "") if two else None)
        return HTMLResponse(pages.result("Authenticator app", True, msg))

    async def totp_login_page(request: Request) -> Response:
        return HTMLResponse(pages.totp_login(request.query_params.get("user", "alice")))

    async def totp_login(request: Request) -> Response:
        form = await _form(request)
        return HTMLResponse(pages.result("Signed in", True, rp.totp_login(form.get("user", "alice"),
                                                                          form.get("code", ""))))

    def webauthn_page(kind: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return _webauthn_page(kind, request)

        return endpoint

    def _webauthn_page(kind: str, request: Request) -> Response:
        params = {"user": request.query_params.get("user", "alice" if kind == "register" else "")}
        params["uv"] = _param(request, "uv", "preferred")
        if kind == "register":
            params["rk"] = _param(request, "rk", "discouraged")
            params["attestation"] = _param(request, "attestation", "none")
        return HTMLResponse(pages.webauthn(kind, params))

    def api(kind: str, step: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            return _api(kind, step, await _json(request))

        return endpoint

    def _api(kind: str, step: str, doc: dict[str, Any]) -> Response:
        if step == "begin":
            if kind == "register":
                out = rp.register_begin(str(doc.get("user") or "alice"),
                                        resident_key=str(doc.get("rk", "discouraged")),
                                        user_verification=str(doc.get("uv", "preferred")),
                                        attestation=str(doc.get("attestation", "none")))
            else:
                out = rp.login_begin(str(doc.get("user") or "") or None,
                                     user_verification=str(doc.get("uv", "preferred")))
        else:
            cred = doc.get("credential")
            if not isinstance(cred, dict):
                raise RPError("credential missing")
            finish = rp.register_finish if kind == "register" else rp.login_finish
            out = finish(str(doc.get("ceremony", "")), cred)
        return JSONResponse(out)

    async def state(request: Request) -> Response:
        return JSONResponse({
            "rp_id": rp.rp_id, "verifier": rp.webauthn_verifier.value,
            "users": {n: {"totp": u.totp_active} for n, u in rp.users.items()},
            "credentials": [{"user": c.user, "id": websafe_encode(c.id), "counter": c.sign_count,
                             "fmt": c.fmt, "discoverable": c.discoverable, "transports": c.transports}
                            for c in rp.credentials],
            "events": [{"what": e.what, "ok": e.ok, "detail": e.detail} for e in rp.events],
        })

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def refused(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=400)
        return HTMLResponse(pages.result("Refused", False, str(exc)), status_code=400)

    app = Starlette(routes=[
        Route("/", index), Route("/healthz", healthz), Route("/api/state", state),
        Route("/totp/enroll", totp_enroll_page, methods=["GET"]),
        Route("/totp/enroll", totp_enroll, methods=["POST"]),
        Route("/totp/login", totp_login_page, methods=["GET"]),
        Route("/totp/login", totp_login, methods=["POST"]),
        Route("/favicon.ico", favicon),
        *(Route(f"/webauthn/{k}", webauthn_page(k), methods=["GET"]) for k in ("register", "login")),
        *(Route(f"/api/webauthn/{k}/{s}", api(k, s), methods=["POST"])
          for k in ("register", "login") for s in ("begin", "finish")),
    ], exception_handlers={RPError: refused})
    app.state.codes = {}
    return app


class RPServer(ServerOwner):
    """The demo RP on ``127.0.0.1:port`` (0: a free port), reached as ``http://localhost:port``."""

    def __init__(self, rp: RelyingParty | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 on_ready: Callable[[RPServer], None] | None = None) -> None:
        self.rp = rp or RelyingParty()
        self.on_ready = on_ready
        self._serve(create_app(self.rp), host, bind_tcp(host, port, BrowserError), what="the demo RP",
                    thread="tokensim-demo-rp", error=BrowserError)

    @property
    def url(self) -> str:
        return f"http://{self.rp.rp_id}:{self.port}"

    def info(self) -> dict[str, Any]:
        return {"event": "ready", "url": self.url, "host": self.host, "port": self.port,
                "rp_id": self.rp.rp_id, "verifier": self.rp.webauthn_verifier.value}
