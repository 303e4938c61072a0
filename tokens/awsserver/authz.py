"""Authorization: gather a principal's policies and let the policy engine (:mod:`tokens.policy`) decide.

This module evaluates nothing itself; it decides *which* policies apply and combines the verdicts
as AWS does within one account:

* an explicit Deny in any identity-based policy (user + its groups, managed + inline; a role's
  policies for a role session) or in the resource-based policy (an S3 bucket policy, a role's
  trust policy) wins;
* otherwise an Allow from either the identity-based policies or the resource-based policy (when
  its ``Principal`` names the caller) allows;
* otherwise the request is implicitly denied.

The messages are AWS's: ``User: ARN is not authorized to perform: ACTION on resource: ARN
[because no identity-based policy allows the ACTION action | with an explicit deny in an
identity-based policy | with an explicit deny in a resource-based policy]``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ..policy import PolicyError
from . import engine
from .engine import AwsManaged, Decision, NamedPolicy, Verdict
from .backend import Backend
from .errors import malformed_policy
from .principal import Principal
from .records import Kind


def denied_message(caller_arn: str, action: str, resource: str, d: Decision) -> str:
    return f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {d.reason(action)}"


# -- documents

def check_document(text: str, *, trust_policy: bool) -> None:
    """MalformedPolicyDocument unless the policy engine accepts ``text``."""
    try:
        json.loads(text)
    except ValueError as e:
        raise malformed_policy(f"Syntax errors in policy. {e}") from None
    try:
        for warning in engine.validate(text, resource_policy=trust_policy):
            sys.stderr.write(f"tokensim aws serve: policy warning: {warning}\n")
    except PolicyError as e:
        raise malformed_policy(str(e)) from None


@lru_cache(maxsize=2048)
def aws_managed(arn: str) -> AwsManaged | None:
    """An AWS managed policy by ARN (``arn:aws:iam::aws:policy/...``) from the engine's data."""
    if not arn.startswith("arn:aws:iam::aws:policy/"):
        return None
    return engine.aws_managed(arn)


def _managed_document(b: Backend, arn: str) -> NamedPolicy | None:
    m = aws_managed(arn)
    if m is not None:
        return NamedPolicy(m.name, m.document)
    p = b.state.policies.get(arn=arn)
    if p is None:
        return None
    v = b.state.versions.get(arn=arn, version_id=p.default_version)
    return NamedPolicy(p.name, v.document) if v else None


def _entity_policies(b: Backend, kind: Kind, name: str) -> list[NamedPolicy]:
    out = [p for a in b.state.attached.all(kind=kind, entity=name) if (p := _managed_document(b, a.arn))]
    out += [NamedPolicy(f"{kind.value}/{name}/{p.name}", p.document)
            for p in b.state.inline.all(kind=kind, entity=name)]
    return out


def identity_policies(b: Backend, principal: Principal, extra: Sequence[NamedPolicy] = ()) -> list[NamedPolicy]:
    """Every identity-based policy in force for ``principal`` (``extra``: attached to every IAM user)."""
    if principal.role is not None:
        return _entity_policies(b, Kind.ROLE, principal.role.name)
    if principal.user is None:
        return []
    out = _entity_policies(b, Kind.USER, principal.user.name)
    for m in b.state.members.all(user_name=principal.user.name):
        out += _entity_policies(b, Kind.GROUP, m.group_name)
    if principal.user.name != "admin":
        out += list(extra)
    return out


# -- decisions

def authorize(identity: Sequence[NamedPolicy], resource_policy: NamedPolicy | None, principal: Principal,
              action: str, resource: str, ctx: Mapping[str, str | list[str]],
              principal_allows_alone: bool = True) -> Decision:
    """The combined decision for one (action, resource).

    ``principal_allows_alone``: whether an Allow in the resource policy suffices without an
    identity Allow (true for S3 bucket policies in the same account; for a role's trust policy
    only when it names the caller itself rather than the account).
    """
    ident = engine.evaluate(identity, action, resource, ctx, principal=None)
    if ident.verdict is Verdict.EXPLICIT_DENY:
        return Decision(Verdict.EXPLICIT_DENY, "identity-based", ident.policy, ident.statement)
    res = Decision(Verdict.IMPLICIT_DENY)
    if resource_policy is not None:
        res = engine.evaluate([resource_policy], action, resource, ctx, principal=principal)
        if res.verdict is Verdict.EXPLICIT_DENY:
            return Decision(Verdict.EXPLICIT_DENY, "resource-based", res.policy, res.statement)
    if ident.allowed or (res.allowed and principal_allows_alone):
        return ident if ident.allowed else res
    return Decision(Verdict.IMPLICIT_DENY)
