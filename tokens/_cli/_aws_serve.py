"""``tokensim aws serve``: a local IAM/STS endpoint whose MFA codes are really verified.

Prints one JSON line ``{"event": "ready", "url": ...}`` when it accepts connections, serves
until SIGINT/SIGTERM, then prints ``{"event": "stopped", ...}`` and exits 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from . import output


def _serve(args: argparse.Namespace) -> int:
    from .. import paths
    from ..awsserver import AwsServer
    from ..policy import load_policy

    db = args.db or str(paths.home() / "aws-serve.sqlite3")
    if args.db is None:
        paths.home().mkdir(parents=True, exist_ok=True, mode=0o700)
    policies = [load_policy(p) for p in args.policy or []]
    server = AwsServer(db, host=args.host, port=args.port, account_id=args.account_id, policies=policies,
                       on_ready=lambda s: output.print_json(s.info()))
    sig = server.run()
    output.print_json({"event": "stopped", "signal": sig})
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
    p.add_argument("--port", type=int, default=0, help="TCP port (default: 0, a free port)")
    p.add_argument("--db", metavar="PATH",
                   help="SQLite state file (default: $TOKENSIM_HOME/aws-serve.sqlite3)")
    p.add_argument("--account-id", default="123456789012",
                   help="12-digit account id (default: 123456789012)")
    p.add_argument("--policy", action="append", metavar="POLICY.json",
                   help="attach this IAM policy to every IAM user and enforce it on IAM actions, with "
                        "the MFA context of the caller's credentials (repeatable)")
    p.set_defaults(func=_serve)
