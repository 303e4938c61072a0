"""``tokensim aws serve``: a local IAM/STS endpoint whose MFA codes are really verified.

Prints one JSON line ``{"event": "ready", "url": ...}`` when it accepts connections, serves
until SIGINT/SIGTERM, then prints ``{"event": "stopped", ...}`` and exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import output
from .common import port_number, positive_int


def _policy_file(path: str) -> tuple[str, str]:
    from pathlib import Path

    from ..errors import InputError

    try:
        return Path(path).name, Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read policy {path}: {getattr(e, 'strerror', None) or e}") from None


def _check_policies(policies: list[tuple[str, str]]) -> None:
    from ..awsserver.authz import check_document
    from ..awsserver.errors import AwsApiFault
    from ..errors import InputError

    for name, text in policies:
        try:
            check_document(text)
        except AwsApiFault as e:
            raise InputError(f"{name}: {e.message}") from None


def _serve(args: argparse.Namespace) -> int:
    from .. import paths
    from ..awsserver import AwsServer, Backend
    from ..clock import Clock, ManualClock, SystemClock
    from ..verifier import Policy as VerifierPolicy

    db = args.db or str(paths.home() / "aws-serve.sqlite3")
    if args.db is None:
        paths.home().mkdir(parents=True, exist_ok=True, mode=0o700)
    policies = [_policy_file(p) for p in args.policy or []]
    _check_policies(policies)  # refuse a malformed document before creating anything
    clock: Clock = ManualClock(args.at if args.at is not None else SystemClock().now()) \
        if args.clock == "manual" else SystemClock()
    admin_key = None
    if args.admin_access_key_id or args.admin_secret_access_key:
        if not (args.admin_access_key_id and args.admin_secret_access_key):
            from ..errors import InputError

            raise InputError("--admin-access-key-id and --admin-secret-access-key go together")
        admin_key = (args.admin_access_key_id, args.admin_secret_access_key)
    tuning = {k: v for k, v in (("look_behind", args.window), ("look_ahead", args.window),
                                ("throttle_after", args.throttle_after), ("backoff_base", args.backoff),
                                ("lockout_after", args.lockout_after)) if v is not None}
    verifier_policy = VerifierPolicy(**tuning)  # InputError (one line) for impossible values
    backend = Backend(db, account_id=args.account_id, verifier_policy=verifier_policy, clock=clock,
                      admin_key=admin_key)
    server = AwsServer(db, host=args.host, port=args.port, policies=policies, backend=backend,
                       max_body=args.max_body, log_denials=args.log_denials,
                       on_ready=lambda s: output.server_ready(s.info()))
    sig = server.run()
    output.server_stopped(sig)
    return 0


def register_serve(aws_sub: argparse._SubParsersAction[Any]) -> None:
    p = aws_sub.add_parser(
        "serve", help="run a local AWS endpoint where MFA really gates access (for boto3 / the AWS CLI)",
        description="Serve IAM and STS (tokensim's own: users, groups, roles, policies, virtual MFA "
                    "devices verified for real, sessions with their MFA context) and every other service "
                    "through moto, each request SigV4-verified and authorised by the IAM policy engine. "
                    "The ready line carries the administrator's access key. See docs/aws.md.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=0, help="TCP port (default: 0, a free port)")
    p.add_argument("--json", action="store_true",
                   help="accepted like everywhere: a server's output is always JSON lines (ready, stopped)")
    p.add_argument("--db", metavar="PATH",
                   help="SQLite state file (default: $TOKENSIM_HOME/aws-serve.sqlite3)")
    p.add_argument("--account-id", default="123456789012",
                   help="12-digit account id (default: 123456789012)")
    p.add_argument("--policy", action="append", metavar="POLICY.json",
                   help="attach this IAM policy to every IAM user but the administrator (repeatable)")
    p.add_argument("--clock", choices=("system", "manual"), default="system",
                   help="manual: the account's time only moves by POST /_tokensim/clock (default: system)")
    p.add_argument("--at", type=float, metavar="EPOCH", help="start time of the manual clock (default: now)")
    p.add_argument("--admin-access-key-id", metavar="AKID", help="the administrator's access key id")
    p.add_argument("--admin-secret-access-key", metavar="SECRET", help="the administrator's secret key")
    p.add_argument("--max-body", type=positive_int, default=1024 * 1024, metavar="BYTES",
                   help="largest request body accepted (default: 1 MiB)")
    p.add_argument("--log-denials", action="store_true", help="one stderr line per denied request")
    v = p.add_argument_group("verifier (defaults: the verifier's)")
    v.add_argument("--window", type=int, metavar="STEPS", help="steps accepted either side (default 1)")
    v.add_argument("--throttle-after", type=int, metavar="K", help="failures before back-off (default 3)")
    v.add_argument("--backoff", type=float, metavar="S", help="first back-off, doubling (default 30 s)")
    v.add_argument("--lockout-after", type=int, metavar="M",
                   help="failures that lock the device (default 10; 0 = never)")
    p.set_defaults(func=_serve)
