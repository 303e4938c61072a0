"""``tokensim verifier serve``: the HTTP verification service (hooked into the verifier command group).

Not a command module of its own (the leading underscore keeps main.py from registering it); the
``verifier`` group calls :func:`register_serve` with its sub-parsers.
"""

from __future__ import annotations

import argparse
import re

from ..errors import InputError
from .common import port_number, positive_int

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")






def register_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "serve", help="run the HTTP verification service",
        description="Serve the verifier as JSON over HTTP (enroll, check, batch check, resync, show, "
                    "health, /openapi.json).  Prints one JSON line with its URL when ready; stops on "
                    "Ctrl-C / SIGTERM.  Several services (on several machines) can share one "
                    "PostgreSQL store: replay protection holds across all of them.  See docs/deploy.md.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--json", action="store_true",
                   help="accepted like everywhere: a server's output is always JSON lines (ready, stopped)")
    p.add_argument("--port", type=port_number, default=8080, help="port (default 8080; 0 = any free port)")
    p.add_argument("--db", dest="serve_db", metavar="URL", default=None,
                   help="store: sqlite:///PATH, a file path, or postgresql://USER@HOST:PORT/DB "
                        "(default: the verifier database under $TOKENSIM_HOME)")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="N uvicorn worker processes sharing the port, each with its own store "
                        "connection pool (default 1)")
    p.add_argument("--api-key-env", metavar="VAR", default=None,
                   help="require the API key held in environment variable VAR "
                        "(Authorization: Bearer KEY or X-API-Key: KEY)")
    p.add_argument("--trust-client-time", action="store_true",
                   help="accept an 'at' time in requests (simulations and benchmarks only)")
    p.add_argument("--pool-size", type=positive_int, default=8, metavar="N",
                   help="PostgreSQL connections per worker process (default 8)")
    p.add_argument("--max-body", type=positive_int, default=256 * 1024, metavar="BYTES",
                   help="largest request body accepted (default 262144)")
    p.add_argument("--max-batch", type=positive_int, default=1000, metavar="N",
                   help="most items in one batch check (default 1000)")
    p.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug"], help="server log level")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from ..paths import verifier_db
    from ..service.server import ServeOptions, serve

    db = args.serve_db or getattr(args, "db", None) or f"sqlite://{verifier_db()}"
    if args.api_key_env and not _ENV_NAME.fullmatch(args.api_key_env):
        raise InputError(f"--api-key-env wants an environment variable name, got {args.api_key_env!r}")
    import signal

    from . import output

    # uvicorn re-raises the signal that stopped it once it has shut down: note it here instead of
    # dying of it, so the "stopped" line is printed and the exit status is 0
    got: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _: got.append(signum))
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        rc = serve(ServeOptions(
            db=str(db), host=args.host, port=args.port, workers=args.workers, api_key_env=args.api_key_env,
            trust_client_time=args.trust_client_time, max_body=args.max_body, max_batch=args.max_batch,
            pool_size=args.pool_size, log_level=args.log_level), announce=output.server_ready)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if rc == 0:
        output.server_stopped(got[0] if got else None)
    return rc
