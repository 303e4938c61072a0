"""Every service but IAM and STS: moto's own in-process dispatcher, behind tokensim's authorization.

moto's server mode is a WSGI application (``moto.moto_server.werkzeug_app.DomainDispatcherApplication``
over ``create_backend_app``) that picks the service from the request's SigV4 credential scope and
runs moto's response classes against its in-memory backends.  The bridge builds the WSGI environ
of an already authorised request, calls that application in the worker thread and hands back
status, headers and body unchanged.  moto's own IAM access control stays off: tokensim decides.

moto's backends are process-wide; :func:`reset` empties them (a new server does so on start).
Bucket policies are read back from moto's S3 backend for authorization (:func:`bucket_policy`).
"""

from __future__ import annotations

import io
import sys
import threading
from dataclasses import dataclass
from typing import Any

from .http import HttpRequest

_lock = threading.Lock()
_app: Any = None
_local = threading.local()  # .authorized: this thread runs a request tokensim has already authorised


@dataclass(frozen=True)
class BridgeResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _application() -> Any:
    global _app
    with _lock:
        if _app is None:
            import logging

            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            _defer_bucket_policies()
            _app = DomainDispatcherApplication(create_backend_app)
        return _app


def _defer_bucket_policies() -> None:
    """moto's S3 applies bucket policies itself (every condition treated as met, so a deny-unless-MFA
    policy denies everyone).  Requests tokensim forwards were authorised with those policies by the
    policy engine already: for them (only, via a thread-local flag) moto's check is neutral."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission
    if getattr(original, "_tokensim", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if getattr(_local, "authorized", False):
            return PermissionResult.NEUTRAL
        return original(self, action, resource)

    get_permission._tokensim = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def available() -> bool:
    try:
        _application()
    except ImportError:
        return False
    return True


def reset() -> None:
    """Empty every moto backend of this process."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def _environ(req: HttpRequest) -> dict[str, Any]:
    path = req.raw_path or "/"
    from urllib.parse import unquote

    env: dict[str, Any] = {
        "REQUEST_METHOD": req.method.upper(),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "RAW_URI": path + (f"?{req.query}" if req.query else ""),
        "REQUEST_URI": path + (f"?{req.query}" if req.query else ""),
        "QUERY_STRING": req.query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": req.client_ip,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if req.secure else "http",
        "wsgi.input": io.BytesIO(req.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(req.body)),
    }
    for name, value in req.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            env["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            env[f"HTTP_{key}"] = value
    return env


def forward(req: HttpRequest) -> BridgeResponse:
    """Run ``req`` through moto's dispatcher."""
    app = _application()
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers
        return lambda data: None

    _local.authorized = True
    try:
        chunks = app(_environ(req), start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    finally:
        _local.authorized = False
    skip = {"content-length", "transfer-encoding", "connection", "server", "date"}
    headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() not in skip]
    return BridgeResponse(captured.get("status", 500), headers, body)


def bucket_policy(bucket: str, account: str) -> str | None:
    """The bucket policy moto holds for ``bucket`` (None: no bucket or no policy)."""
    try:
        from moto.s3.models import s3_backends
    except ImportError:
        return None
    try:
        backend = s3_backends[account]["aws"]
        b = backend.buckets.get(bucket)
    except (KeyError, AttributeError):
        return None
    if b is None or not getattr(b, "policy", None):
        return None
    policy = b.policy
    return policy.decode("utf-8", "replace") if isinstance(policy, bytes) else str(policy)
