"""``tokensim policy check``: does an MFA-enforcing IAM policy lock new users out of enrollment?

Exit codes: 0 every enrollment step is allowed and MFA is enforced; 1 the policy could not be read
or evaluated; 2 bad usage; 3 an enrollment step is blocked (lock-out); 4 enrollment works but no
deny stops a caller without MFA from non-IAM actions (the policies do not enforce MFA).
"""

from __future__ import annotations

import argparse
from typing import Any

from . import output

EXIT_BLOCKED = 3
EXIT_UNENFORCED = 4
_WALK_NOTE = {"console": "password sign-in: MultiFactorAuthPresent=false",
              "cli": "long-term access keys: no MultiFactorAuthPresent key"}


def _mark(status: str) -> str:
    return {"ok": "ok", "blocked": "BLOCKED", "warning": "warning"}.get(status, status)


def _short(arn: str) -> str:
    """``arn:aws:iam::123456789012:user/alice`` → ``user/alice`` (the account is in the header)."""
    return arn.split(":", 5)[5] if arn.count(":") >= 5 else arn


def _check(args: argparse.Namespace) -> int:
    from ..policy import Result, Target, check_enrollment, load_policy
    from ..policy.enrollment import WALKS

    policies = [load_policy(p) for p in args.policy]
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
    p = sub.add_parser("policy", help="check IAM policies for MFA enforcement and enrollment lock-outs")
    psub = p.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")
    c = psub.add_parser(
        "check", help="walk the MFA enrollment steps of a new user against policy files",
        description="Evaluate the enrollment steps a new user takes without MFA against the given IAM "
                    "identity policies (evaluated together, as if attached to one user), then what an MFA "
                    "session can do. Exit 0 ok, 1 unreadable policy, 3 an enrollment step is blocked, "
                    "4 MFA not enforced.")
    c.add_argument("policy", nargs="+", metavar="POLICY.json", help="IAM policy document(s)")
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
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


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
