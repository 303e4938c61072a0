"""Run the endpoint with uvicorn: one JSON line when ready, clean shutdown on SIGINT/SIGTERM.

:class:`AwsServer` also runs in a thread for tests (``start()`` / ``stop()``), sharing a
ManualClock with the test so TOTP steps never need sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._asgi import ServerOwner, bind_tcp
from ..clock import Clock, ManualClock
from . import moto_bridge
from .app import create_app
from .backend import DEFAULT_ACCOUNT, Backend
from .engine import NamedPolicy
from .errors import AwsApiFault, AwsServerError
from .http import DEFAULT_MAX_BODY
from .pipeline import Settings


def _named(p: Any) -> NamedPolicy:
    """A policy given as NamedPolicy, a (name, JSON text) pair or a tokens.policy document object."""
    if isinstance(p, NamedPolicy):
        return p
    if isinstance(p, tuple):
        return NamedPolicy(str(p[0]), str(p[1]))
    import json

    from ..policy import PolicyDocument

    if isinstance(p, PolicyDocument):
        return NamedPolicy(p.name, "", parsed=p)
    if isinstance(p, dict):
        return NamedPolicy("policy", json.dumps(p))
    raise AwsServerError(f"cannot use {type(p).__name__} as a policy")


class AwsServer(ServerOwner):
    """The AWS endpoint on ``host:port`` (port 0: a free one) over the SQLite file ``db``.

    ``policies`` are attached to every IAM user except the administrator (a shortcut for tests
    and ``aws serve --policy``); ``admin_key`` fixes the administrator's access key pair.
    """

    def __init__(
        self,
        db: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        account_id: str = DEFAULT_ACCOUNT,
        clock: Clock | None = None,
        backend: Backend | None = None,
        on_ready: Callable[[AwsServer], None] | None = None,
        policies: Sequence[Any] = (),
        admin_key: tuple[str, str] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        reset_moto: bool = True,
        log_denials: bool = False,
    ) -> None:
        self.on_ready = on_ready
        self.policies = tuple(_named(p) for p in policies)
        from . import authz

        for p in self.policies:  # refuse a malformed document before opening the db
            if p.parsed is None:
                try:
                    authz.check_document(p.document)
                except AwsApiFault as e:
                    raise AwsServerError(f"{p.name}: {e.message}") from None
        self.backend = backend or Backend(db, account_id=account_id, clock=clock, admin_key=admin_key)
        if reset_moto and moto_bridge.available():
            moto_bridge.reset()
        try:
            sock = bind_tcp(host, port, AwsServerError)
        except AwsServerError:
            self.backend.close()
            raise
        settings = Settings(extra_policies=self.policies, log_denials=log_denials)
        self._serve(create_app(self.backend, settings, max_body=max_body), host, sock, what="the endpoint",
                    thread="tokensim-aws-serve", error=AwsServerError)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def info(self) -> dict[str, Any]:
        admin = self.backend.admin
        return {
            "event": "ready",
            "url": self.url,
            "host": self.host,
            "port": self.port,
            "account_id": self.backend.account_id,
            "access_key_id": admin.access_key_id,
            "secret_access_key": admin.secret,
            "db": self.backend.state.path,
            "clock": "manual" if isinstance(self.backend.clock, ManualClock) else "system",
            "policies": [p.name for p in self.policies],
        }

    def run(self) -> int | None:
        """Serve in this thread until SIGINT/SIGTERM (or stop()); returns the signal number, if any."""
        try:
            return super().run()
        finally:
            self.backend.close()
