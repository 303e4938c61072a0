"""Walk the MFA enrollment a new IAM user goes through, and what an MFA session can do afterwards.

Two walks, each with the request context IAM really sees:

* ``console``: the user signs in with a password only.  The console runs on temporary
  credentials without MFA, so ``aws:MultiFactorAuthPresent`` is present and ``false``.  First
  sign-in forces a password change (``iam:ChangePassword``), then the user sets up a virtual MFA
  device on the Security credentials page.
* ``cli``: the user holds long-term access keys.  ``aws:MultiFactorAuthPresent`` is *absent*,
  which is why deny-unless-MFA policies must use ``BoolIfExists``.  The user enrolls with the
  API and then calls ``sts:GetSessionToken`` with the device.

A step is blocked when the policies do not allow it (explicit or implicit deny).  One exception
follows AWS: ``sts:GetSessionToken`` is an authentication operation that IAM policies cannot
control, so a deny on it is reported as a warning (``strict`` turns it into a block, which is what
stricter tools and older AWS examples assume).

After enrollment, representative actions are evaluated for an MFA session of a given age.  Non-IAM
actions are also probed without MFA, as if another attached policy granted everything: if no deny
stops them, the policies do not enforce MFA (the ``Bool`` instead of ``BoolIfExists`` mistake lets
long-term keys through).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .context import RequestContext
from .document import PolicyDocument
from .evaluate import Decision, Evaluator, Result

WALKS = ("console", "cli")
UNCONTROLLED = {"sts:getsessiontoken"}  # AWS: "You cannot use policies to control authentication operations"


@dataclass(frozen=True)
class Step:
    action: str
    resource_kind: str  # "user", "mfa" or "*"
    why: str
    walks: tuple[str, ...] = WALKS


ENROLLMENT_STEPS = (
    Step("iam:ChangePassword", "user", "set a new password on first sign-in", ("console",)),
    Step("iam:CreateVirtualMFADevice", "mfa", "create the virtual MFA device"),
    Step("iam:EnableMFADevice", "user", "enable it with two consecutive codes"),
    Step("iam:ListMFADevices", "user", "see the user's MFA devices"),
    Step("iam:ListVirtualMFADevices", "*", "see virtual MFA devices (no resource-level permission)"),
    Step("iam:ResyncMFADevice", "user", "resynchronise a drifted device"),
    Step("sts:GetSessionToken", "*", "trade the MFA code for session credentials", ("cli",)),
)

AFTER_MFA = (
    ("s3:ListAllMyBuckets", "*"),
    ("ec2:DescribeInstances", "*"),
    ("iam:ChangePassword", "user"),
    ("iam:CreateAccessKey", "user"),
    ("iam:DeactivateMFADevice", "user"),
    ("iam:DeleteVirtualMFADevice", "mfa"),
)
NON_IAM_PROBES = ("s3:ListAllMyBuckets", "ec2:DescribeInstances")


@dataclass(frozen=True)
class Target:
    account_id: str = "123456789012"
    user: str = "new-user"
    device: str | None = None  # virtual MFA device name; defaults to the user name

    def arn(self, kind: str) -> str:
        if kind == "user":
            return f"arn:aws:iam::{self.account_id}:user/{self.user}"
        if kind == "mfa":
            return f"arn:aws:iam::{self.account_id}:mfa/{self.device or self.user}"
        return "*"


def no_mfa_context(walk: str, action: str, resource: str, user: str) -> RequestContext:
    if walk == "console":
        return RequestContext.session(action, resource, user, mfa_age=None)  # present, false
    return RequestContext.long_term_keys(action, resource, user)  # key absent


@dataclass(frozen=True)
class StepResult:
    walk: str
    step: Step
    resource: str
    result: Result
    status: str  # "ok", "blocked" or "warning"

    def to_dict(self) -> dict[str, Any]:
        return {"walk": self.walk, "action": self.step.action, "resource": self.resource,
                "why": self.step.why, "status": self.status, **self.result.to_dict()}


@dataclass
class Report:
    target: Target
    enrollment: list[StepResult] = field(default_factory=list)
    with_mfa: list[Result] = field(default_factory=list)
    without_mfa: list[tuple[str, Result]] = field(default_factory=list)
    mfa_age: float = 60.0

    @property
    def blocked(self) -> list[StepResult]:
        return [s for s in self.enrollment if s.status == "blocked"]

    @property
    def warnings(self) -> list[StepResult]:
        return [s for s in self.enrollment if s.status == "warning"]

    @property
    def unenforced(self) -> list[tuple[str, Result]]:
        """Non-IAM actions no deny stops for a caller without MFA: the policies do not enforce MFA."""
        return [(w, r) for w, r in self.without_mfa if r.allowed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.target.account_id, "user": self.target.user,
            "enrollment_ok": not self.blocked,
            "blocked": [f"{s.walk}:{s.step.action}" for s in self.blocked],
            "warnings": [f"{s.walk}:{s.step.action}" for s in self.warnings],
            "mfa_enforced": not self.unenforced,
            "enrollment": [s.to_dict() for s in self.enrollment],
            "mfa_age": self.mfa_age,
            "with_mfa": [r.to_dict() for r in self.with_mfa],
            "without_mfa": [{"walk": w, **r.to_dict()} for w, r in self.without_mfa],
        }


def grant_all_policy() -> PolicyDocument:
    """Stands for "another attached policy allows everything" (e.g. AdministratorAccess)."""
    from .document import parse_policy

    return parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "AssumedAllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"}]},
        name="(--grant-all)")


def check_enrollment(policies: Iterable[PolicyDocument], target: Target | None = None, *,
                     walks: Iterable[str] = WALKS, mfa_age: float = 60.0, grant_all: bool = False,
                     strict: bool = False) -> Report:
    """Evaluate every enrollment step in every walk, then the MFA session's representative actions."""
    target = target or Target()
    ps = list(policies)
    if grant_all:
        ps.append(grant_all_policy())
    ev = Evaluator(ps)
    chosen = [w for w in WALKS if w in set(walks)]
    report = Report(target=target, mfa_age=mfa_age)
    for walk in chosen:
        for step in ENROLLMENT_STEPS:
            if walk not in step.walks:
                continue
            res_arn = target.arn(step.resource_kind)
            result = ev.evaluate(no_mfa_context(walk, step.action, res_arn, target.user))
            status = "ok"
            if not result.allowed:
                if strict or step.action.lower() not in UNCONTROLLED:
                    status = "blocked"
                elif result.decision is Decision.EXPLICIT_DENY:
                    status = "warning"  # ineffective on AWS, but a sign of a policy written for it
                # an implicit deny on an uncontrolled action is fine: it needs no permission
            report.enrollment.append(StepResult(walk, step, res_arn, result, status))
    for action, kind in AFTER_MFA:
        report.with_mfa.append(ev.evaluate(
            RequestContext.session(action, target.arn(kind), target.user, mfa_age=mfa_age)))
    # Enforcement is about denies: would a caller without MFA get in if some other policy granted
    # the action?  So the probes always run as if an allow-all policy were attached as well.
    probe = ev if grant_all else Evaluator([*ps, grant_all_policy()])
    for walk in chosen:
        for action in NON_IAM_PROBES:
            report.without_mfa.append((walk, probe.evaluate(no_mfa_context(walk, action, "*", target.user))))
    return report


__all__ = ["AFTER_MFA", "ENROLLMENT_STEPS", "WALKS", "Decision", "Report", "Step", "StepResult", "Target",
           "check_enrollment", "grant_all_policy"]
