"""``tokensim policy``: evaluate IAM policies as AWS does.

``check``: does an MFA-enforcing policy set lock new users out of enrollment?  Exit codes: 0 every
enrollment step is allowed and MFA is enforced; 1 a policy could not be read or evaluated; 2 bad
usage; 3 an enrollment step is blocked (lock-out); 4 enrollment works but no deny stops a caller
without MFA from non-IAM actions (the policies do not enforce MFA).

``simulate ACTION RESOURCE POLICY...``: one decision with its explanation.  Exit codes: 0 allowed;
1 a policy or context value could not be read; 2 bad usage; 3 explicitly denied; 4 implicitly
denied (nothing allows it).

POLICY is a JSON file, or an AWS managed policy by name (``AmazonEC2FullAccess``), path/name
(``service-role/AWSLambdaRole``) or ARN (``arn:aws:iam::aws:policy/AmazonEC2FullAccess``).
"""

from __future__ import annotations

import argparse
from typing import Any

from . import output

EXIT_BLOCKED = 3
EXIT_UNENFORCED = 4
EXIT_EXPLICIT_DENY = 3
EXIT_IMPLICIT_DENY = 4
_POLICY_HELP = "IAM policy: a JSON file, or an AWS managed policy by name or ARN"
_WALK_NOTE = {"console": "password sign-in: MultiFactorAuthPresent=false",
              "cli": "long-term access keys: no MultiFactorAuthPresent key"}


def _mark(status: str) -> str:
    return {"ok": "ok", "blocked": "BLOCKED", "warning": "warning"}.get(status, status)


def _short(arn: str) -> str:
    """``arn:aws:iam::123456789012:user/alice`` → ``user/alice`` (the account is in the header)."""
    return arn.split(":", 5)[5] if arn.count(":") >= 5 else arn


def _check(args: argparse.Namespace) -> int:
    from ..policy import Result, Target, check_enrollment, resolve_policy
    from ..policy.enrollment import WALKS

    policies = [resolve_policy(p) for p in args.policy]
    walks = WALKS if args.walk == "both" else (args.walk,)
    target = Target(account_id=args.account_id, user=args.user, device=args.device_name)
    report = check_enrollment(policies, target, walks=walks, mfa_age=args.mfa_age,
                              grant_all=args.grant_all, strict=args.strict)
    rc = EXIT_BLOCKED if report.blocked else EXIT_UNENFORCED if report.unenforced else 0
    if args.json:
        output.print_json({**report.to_dict(), "exit_code": rc})
        return rc
    many = len(policies) > 1

    def by(r: Result) -> str:
        if r.statement is None:
            return "-"
        return f"{r.policy}:{r.statement.label}" if many else r.statement.label

    for walk in walks:
        rows = []
        for s in (s for s in report.enrollment if s.walk == walk):
            note = "no permission needed" if s.status == "ok" and not s.result.allowed else by(s.result)
            rows.append((s.step.action, _short(s.resource), _mark(s.status), s.result.decision.value, note))
        output.table(["step", "resource", "status", "decision", "statement"], rows,
                     title=f"{walk} enrollment of {args.user} without MFA ({_WALK_NOTE[walk]})")
    after = [(r.context.action, _short(r.context.resource), r.decision.value, by(r)) for r in report.with_mfa]
    output.table(["action", "resource", "decision", "statement"], after,
                 title=f"With an MFA session ({args.mfa_age:g} s old), account {args.account_id}")
    for s in report.blocked:
        output.console.print(f"BLOCKED  {s.walk}: {s.step.action} ({s.step.why}) - {s.result.summary()}")
    for s in report.warnings:
        output.console.print(f"warning  {s.walk}: {s.step.action} is denied by the policy, but AWS does not "
                             "apply policies to this authentication operation (--strict to count it)")
    for walk, r in report.unenforced:
        output.console.print(f"NOT ENFORCED  {walk}: no deny stops {r.context.action} without MFA; any "
                             "policy that grants it lets this caller in")
    if rc == 0:
        output.console.print("enrollment OK: a new user can enroll, and MFA is enforced")
    return rc


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("policy", help="evaluate IAM policies: simulate a request, check enrollment lock-outs")
    psub = p.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    c = psub.add_parser(
        "check", help="walk the MFA enrollment steps of a new user against policy files",
        description="Evaluate the enrollment steps a new user takes without MFA against the given IAM "
                    "identity policies (evaluated together, as if attached to one user), then what an MFA "
                    "session can do. Exit 0 ok, 1 unreadable policy, 3 an enrollment step is blocked, "
                    "4 MFA not enforced.")
    c.add_argument("policy", nargs="+", metavar="POLICY", help=_POLICY_HELP)
    c.add_argument("--user", default="new-user", help="IAM user name (default: new-user)")
    c.add_argument("--device-name", help="virtual MFA device name (default: the user name)")
    c.add_argument("--account-id", default="123456789012", help="account id used in ARNs")
    c.add_argument("--walk", choices=["console", "cli", "both"], default="both",
                   help="console (password sign-in), cli (long-term access keys) or both (default)")
    c.add_argument("--mfa-age", type=float, default=60.0, metavar="SECONDS",
                   help="age of the MFA session for the after-enrollment actions (default: 60)")
    c.add_argument("--grant-all", action="store_true",
                   help="assume another attached policy allows everything (only denies can block)")
    c.add_argument("--strict", action="store_true",
                   help="count a deny on sts:GetSessionToken as blocking (AWS itself ignores it)")
    c.add_argument("--json", action="store_true", help="machine-readable report")
    c.set_defaults(func=_check)
    _register_simulate(psub)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


# --------------------------------------------------------------------------- simulate


def _context_pairs(items: list[str]) -> dict[str, str | tuple[str, ...]]:
    """``KEY=VALUE`` strings; a key given twice becomes a multivalued key (a list of strings)."""
    from ..policy import ContextError

    out: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ContextError(f"--context {item!r}: expected KEY=VALUE, e.g. aws:SourceIp=203.0.113.9")
        spelled.setdefault(key.lower(), key)
        out.setdefault(key.lower(), []).append(value)
    return {spelled[k]: (v[0] if len(v) == 1 else tuple(v)) for k, v in out.items()}


def _when(text: str | None) -> Any:
    from datetime import UTC, datetime

    from ..policy import ContextError
    from ..policy.conditions import parse_date

    if text is None:
        return datetime.now(UTC)
    try:
        return parse_date(text)
    except ValueError as e:
        raise ContextError(f"--at: {e}") from None


def _simulate(args: argparse.Namespace) -> int:
    from ..policy import Decision, Evaluator, Principal, RequestContext, load_policy, resolve_policy

    identity = [resolve_policy(p) for p in args.policy if p != "none"]
    ev = Evaluator(
        identity,
        resource_policy=load_policy(args.resource_policy) if args.resource_policy else None,
        trust_policy=load_policy(args.trust_policy) if args.trust_policy else None,
        permissions_boundary=resolve_policy(args.boundary) if args.boundary else None,
        session_policies=[resolve_policy(p) for p in args.session_policy or []])
    common: dict[str, Any] = dict(account=args.account_id, at=_when(args.at), source_ip=args.source_ip,
                                  region=args.region, extra=_context_pairs(args.context or []))
    if args.caller:
        principal = Principal.from_arn(args.caller)
        common.pop("account")
        present = True if args.mfa_age is not None else False if args.no_mfa else None
        ctx = RequestContext.for_principal(args.action, args.resource, principal, mfa_present=present,
                                           mfa_age=args.mfa_age, **common)
        mfa = "" if present is None else f" (MultiFactorAuthPresent={str(present).lower()})"
        creds = f"{args.caller}{mfa}"
    elif args.role:
        ctx = RequestContext.role_session(args.action, args.resource, role=args.role,
                                          session_name=args.session_name, mfa_age=args.mfa_age, **common)
        creds = f"role session {args.role}/{args.session_name}"
    elif args.root:
        common.pop("account")
        ctx = RequestContext.root(args.action, args.resource, account=args.account_id, **common)
        creds = f"root user of account {args.account_id}"
    elif args.mfa_age is not None:
        ctx = RequestContext.mfa_session(args.action, args.resource, args.username, age=args.mfa_age,
                                         **common)
        creds = f"{args.username}: session credentials, MFA {args.mfa_age:g} s ago"
    elif args.no_mfa:
        ctx = RequestContext.session(args.action, args.resource, args.username, **common)
        creds = f"{args.username}: session credentials without MFA (MultiFactorAuthPresent=false)"
    else:
        ctx = RequestContext.long_term_keys(args.action, args.resource, args.username, **common)
        creds = f"{args.username}: long-term access keys (no MultiFactorAuthPresent key)"
    result = ev.evaluate(ctx)
    rc = {Decision.ALLOW: 0, Decision.EXPLICIT_DENY: EXIT_EXPLICIT_DENY,
          Decision.IMPLICIT_DENY: EXIT_IMPLICIT_DENY}[result.decision]
    if args.json:
        output.print_json({**result.to_dict(), "credentials": creds, "exit_code": rc})
        return rc
    output.console.print(result.explain(), markup=False)
    output.console.print(f"  caller:    {creds}", markup=False)
    return rc


def _register_simulate(psub: argparse._SubParsersAction[Any]) -> None:
    s = psub.add_parser(
        "simulate", help="decide one request against policies, with the explanation",
        description="Evaluate one request (ACTION on RESOURCE) the way IAM does: identity policies "
                    "(POLICY...), an optional resource-based or trust policy, permissions boundary and "
                    "session policies. Caller: an IAM user's long-term access keys unless --mfa-age, "
                    "--no-mfa, --role or --root. Exit 0 allowed, 1 unreadable input, 2 bad usage, "
                    "3 explicitly denied, 4 implicitly denied.")
    s.add_argument("action", metavar="ACTION", help="service:Action, e.g. ec2:RunInstances")
    s.add_argument("resource", metavar="RESOURCE", help="resource ARN, or * for actions without one")
    s.add_argument("policy", nargs="+", metavar="POLICY",
                   help=_POLICY_HELP + " (identity-based); 'none' for no identity policy at all")
    mfa = s.add_mutually_exclusive_group()
    mfa.add_argument("--mfa-age", type=float, metavar="SECONDS",
                     help="session credentials obtained with MFA SECONDS ago (MultiFactorAuthPresent=true)")
    mfa.add_argument("--no-mfa", action="store_true",
                     help="session credentials without MFA (MultiFactorAuthPresent=false), e.g. a console "
                          "password sign-in; the default is long-term access keys (no MFA keys at all)")
    who = s.add_mutually_exclusive_group()
    who.add_argument("--username", default="new-user", help="IAM user name (default: new-user)")
    who.add_argument("--role", metavar="ROLE", help="the caller is a session of this role")
    who.add_argument("--root", action="store_true", help="the caller is the account's root user")
    who.add_argument("--caller", metavar="ARN", help="the caller by ARN: user, root, assumed-role session "
                                                      "or federated user")
    s.add_argument("--session-name", default="session", help="role session name (with --role)")
    s.add_argument("--account-id", default="123456789012", help="account id (default: 123456789012)")
    s.add_argument("--context", action="append", metavar="KEY=VALUE",
                   help="a condition key (repeat a key for a multivalued one), e.g. aws:SourceIp=203.0.113.9")
    s.add_argument("--source-ip", metavar="IP", help="aws:SourceIp")
    s.add_argument("--region", metavar="REGION", help="aws:RequestedRegion")
    s.add_argument("--at", metavar="TIME", help="aws:CurrentTime, ISO 8601 or epoch seconds (default: now)")
    s.add_argument("--resource-policy", metavar="FILE", help="resource-based policy (e.g. S3 bucket policy)")
    s.add_argument("--trust-policy", metavar="FILE", help="role trust policy (for sts:AssumeRole)")
    s.add_argument("--boundary", metavar="POLICY", help="permissions boundary")
    s.add_argument("--session-policy", action="append", metavar="POLICY", help="session policy (repeatable)")
    s.add_argument("--json", action="store_true", help="machine-readable result")
    s.set_defaults(func=_simulate)


# --------------------------------------------------------------------------- demo

_ENFORCE_MFA: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowSelfService", "Effect": "Allow", "Action": ["iam:*MFA*", "iam:ChangePassword"],
     "Resource": ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:mfa/${aws:username}"]},
    {"Sid": "AllowListDevices", "Effect": "Allow", "Action": "iam:ListVirtualMFADevices", "Resource": "*"},
    {"Sid": "DenyAllExceptListedIfNoMFA", "Effect": "Deny",
     "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices",
                   "iam:ListVirtualMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"],
     "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}


def _demo_serve(ctx: Any) -> None:
    try:
        from botocore.exceptions import ClientError

        from ..awsserver import AwsServer
    except ImportError as e:
        ctx.say(f"{e.name} not installed (pip install 'tokensim[aws,service]'): aws serve section skipped")
        return
    from ..clock import DriftModel
    from ..otp import decode_secret
    from ..virtual import VirtualTOTP

    clock = ctx.clock
    with AwsServer(ctx.home / "aws-serve.sqlite3", clock=clock) as server:
        import boto3

        kw: dict[str, Any] = dict(endpoint_url=server.url, region_name="us-east-1",
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
        iam, sts = boto3.client("iam", **kw), boto3.client("sts", **kw)

        def attempt(what: str, call: Any) -> Any:
            try:
                out = call()
                ctx.say(f"  {what}: ok")
                return out
            except ClientError as e:
                err = e.response["Error"]
                ctx.say(f"  {what}: {err['Code']}: {err['Message']}")
                return None

        ctx.say(f"tokensim aws serve on {server.url} (boto3, codes checked by the verifier)")
        iam.create_user(UserName="alice")
        vmfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
        serial = vmfa["SerialNumber"]
        # a phone whose clock runs fast by 1000 ppm (86 s a day)
        token = VirtualTOTP(decode_secret(vmfa["Base32StringSeed"].decode()), reference=clock,
                            drift=DriftModel(ppm=1000.0, epoch=clock.now()))
        c = token.consecutive(3)
        attempt("EnableMFADevice with codes 1 and 3", lambda: iam.enable_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1=c[0], AuthenticationCode2=c[2]))
        attempt("EnableMFADevice with codes 1 and 2", lambda: iam.enable_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1=c[0], AuthenticationCode2=c[1]))
        attempt("GetSessionToken replaying code 2", lambda: sts.get_session_token(
            SerialNumber=serial, TokenCode=c[1]))
        clock.advance(60)
        attempt("GetSessionToken with a fresh code", lambda: sts.get_session_token(
            SerialNumber=serial, TokenCode=token.code()))
        attempt("GetSessionToken DurationSeconds=200000", lambda: sts.get_session_token(
            DurationSeconds=200000))
        clock.advance(2 * 86400)
        ahead = token.device_time(clock.now()) - clock.now()
        attempt(f"two days later, the phone {ahead:.0f} s ahead", lambda: sts.get_session_token(
            SerialNumber=serial, TokenCode=token.code()))
        r = token.consecutive(2)
        attempt("ResyncMFADevice with two consecutive codes", lambda: iam.resync_mfa_device(
            UserName="alice", SerialNumber=serial, AuthenticationCode1=r[0], AuthenticationCode2=r[1]))
        clock.advance(60)
        out = attempt("GetSessionToken after the resync", lambda: sts.get_session_token(
            SerialNumber=serial, TokenCode=token.code()))
        if out:
            clock.advance(600)
            creds = out["Credentials"]
            mfa = server.backend.mfa_context(creds["AccessKeyId"])
            ctx.say(f"  session {creds['AccessKeyId']}: MFA present={mfa['present']}, age {mfa['age']:.0f} s")


def _demo_policy(ctx: Any) -> None:
    from ..policy import check_enrollment, parse_policy

    for label, doc in (("enforce-MFA policy without iam:ChangePassword", _ENFORCE_MFA),
                       ("the same with iam:ChangePassword in NotAction", _with_change_password())):
        report = check_enrollment([parse_policy(doc, name="enforce-mfa.json")])
        blocked = ", ".join(f"{s.walk}:{s.step.action}" for s in report.blocked) or "none"
        ctx.say(f"{label}: blocked enrollment steps: {blocked}; MFA enforced: {not report.unenforced}")


def _with_change_password() -> dict[str, Any]:
    import copy

    doc = copy.deepcopy(_ENFORCE_MFA)
    doc["Statement"][-1]["NotAction"].append("iam:ChangePassword")
    return doc


DEMO_SECTIONS = [
    (52, "AWS: tokensim aws serve verifies MFA codes (wrong pair, replay, drift, resync)", _demo_serve),
    (55, "IAM policy check: the enforce-MFA lock-out", _demo_policy),
]
