"""``tokensim aws serve``: a local IAM/STS endpoint whose MFA codes are really verified.

Prints one JSON line ``{"event": "ready", "url": ...}`` when it accepts connections, serves
until SIGINT/SIGTERM, then prints ``{"event": "stopped", ...}`` and exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import output
from .common import port_number


def _serve(args: argparse.Namespace) -> int:
    from .. import paths
    from ..awsserver import AwsServer, Backend
    from ..policy import Evaluator, load_policy
    from ..verifier import Policy as VerifierPolicy

    db = args.db or str(paths.home() / "aws-serve.sqlite3")
    if args.db is None:
        paths.home().mkdir(parents=True, exist_ok=True, mode=0o700)
    policies = [load_policy(p) for p in args.policy or []]
    if policies:
        Evaluator(policies)  # refuse what the evaluator does not model before creating anything
    tuning = {k: v for k, v in (("look_behind", args.window), ("look_ahead", args.window),
                                ("throttle_after", args.throttle_after), ("backoff_base", args.backoff),
                                ("lockout_after", args.lockout_after)) if v is not None}
    verifier_policy = VerifierPolicy(**tuning)  # InputError (one line) for impossible values
    backend = Backend(db, account_id=args.account_id, verifier_policy=verifier_policy)
    server = AwsServer(db, host=args.host, port=args.port, policies=policies, backend=backend,
                       on_ready=lambda s: output.server_ready(s.info()))
    sig = server.run()
    output.server_stopped(sig)
    return 0


def register_serve(aws_sub: argparse._SubParsersAction[Any]) -> None:
    p = aws_sub.add_parser(
        "serve", help="run a local IAM/STS endpoint that verifies MFA codes (for boto3 / the AWS CLI)",
        description="Serve the AWS query protocol for IAM (CreateUser, GetUser, CreateAccessKey, "
                    "CreateVirtualMFADevice, EnableMFADevice, ResyncMFADevice, DeactivateMFADevice, "
                    "DeleteVirtualMFADevice, ListMFADevices, ListVirtualMFADevices) and STS "
                    "(GetSessionToken, GetCallerIdentity). Point clients at it with endpoint_url. "
                    "Signatures are accepted, not checked.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=0, help="TCP port (default: 0, a free port)")
    p.add_argument("--json", action="store_true",
                   help="accepted like everywhere: a server's output is always JSON lines (ready, stopped)")
    p.add_argument("--db", metavar="PATH",
                   help="SQLite state file (default: $TOKENSIM_HOME/aws-serve.sqlite3)")
    p.add_argument("--account-id", default="123456789012",
                   help="12-digit account id (default: 123456789012)")
    p.add_argument("--policy", action="append", metavar="POLICY.json",
                   help="attach this IAM policy to every IAM user and enforce it on IAM actions, with "
                        "the MFA context of the caller's credentials (repeatable)")
    v = p.add_argument_group("verifier (defaults: the verifier's)")
    v.add_argument("--window", type=int, metavar="STEPS", help="steps accepted either side (default 1)")
    v.add_argument("--throttle-after", type=int, metavar="K", help="failures before back-off (default 3)")
    v.add_argument("--backoff", type=float, metavar="S", help="first back-off, doubling (default 30 s)")
    v.add_argument("--lockout-after", type=int, metavar="M",
                   help="failures that lock the device (default 10; 0 = never)")
    p.set_defaults(func=_serve)
