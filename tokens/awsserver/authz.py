"""Authorization: which policies bear on a request, handed to the policy engine (:mod:`.engine`).

* identity-based: the user's attached (managed: customer or AWS) and inline policies plus those of
  its groups; a role session's role policies; plus the server-wide ``--policy`` documents for IAM
  users (never the administrator);
* resource-based: an S3 bucket's policy, a role's trust policy (AssumeRole).

The engine combines them as AWS does (explicit deny first; a resource policy naming the caller
allows on its own) and phrases the AccessDenied message.  Unknown condition keys are warnings in
the server log, never errors.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..policy import PolicyError
from . import engine
from .backend import ADMIN_USER, Backend
from .engine import AwsManaged, Kind, NamedPolicy, Result, Verdict
from .errors import malformed_policy
from .principal import Principal
from .records import Kind as EntityKind

__all__ = [
    "AwsManaged",
    "Kind",
    "NamedPolicy",
    "Result",
    "Verdict",
    "authorize",
    "aws_managed",
    "check_document",
    "identity_policies",
]


def check_document(text: str, *, kind: Kind = Kind.IDENTITY) -> None:
    """MalformedPolicyDocument unless the policy engine accepts ``text`` as a policy of ``kind``."""
    try:
        engine.validate(text, kind)
    except PolicyError as e:
        raise malformed_policy(str(e)) from None


def aws_managed(arn: str) -> AwsManaged | None:
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


def entity_policies(b: Backend, kind: EntityKind, name: str) -> list[NamedPolicy]:
    out = [p for a in b.state.attached.all(kind=kind, entity=name) if (p := _managed_document(b, a.arn))]
    out += [
        NamedPolicy(f"{kind.value}/{name}/{p.name}", p.document)
        for p in b.state.inline.all(kind=kind, entity=name)
    ]
    return out


def identity_policies(
    b: Backend, principal: Principal, extra: Sequence[NamedPolicy] = ()
) -> list[NamedPolicy]:
    """Every identity-based policy in force for ``principal``."""
    if principal.role is not None:
        return entity_policies(b, EntityKind.ROLE, principal.role.name)
    if principal.user is None:
        return []
    out = entity_policies(b, EntityKind.USER, principal.user.name)
    for m in b.state.members.all(user_name=principal.user.name):
        out += entity_policies(b, EntityKind.GROUP, m.group_name)
    if principal.user.name != ADMIN_USER:
        out += list(extra)
    return out


def authorize(
    b: Backend,
    identity: Sequence[NamedPolicy],
    principal: Principal,
    action: str,
    resource: str,
    keys: Mapping[str, Any],
    *,
    resource_policy: NamedPolicy | None = None,
    trust_policy: NamedPolicy | None = None,
    log_warnings: bool = True,
) -> Result:
    result = engine.evaluate(
        identity,
        action,
        resource,
        keys,
        engine.principal_of(principal, b.account_id),
        resource_policy=resource_policy,
        trust_policy=trust_policy,
    )
    if log_warnings:
        for w in result.warnings:
            line = str(w)
            if line not in _warned and len(_warned) < 10_000:  # once per distinct warning
                _warned.add(line)
                sys.stderr.write(f"tokensim aws serve: policy warning: {line}\n")
    return result


_warned: set[str] = set()
