"""The one module that talks to the policy engine (:mod:`tokens.policy`).

It turns the server's records into the engine's types and back: JSON text → a (cached)
:class:`~tokens.policy.PolicyDocument`, the calling principal → :class:`tokens.policy.Principal`,
the request context mapping → :class:`~tokens.policy.RequestContext`, AWS managed policies by ARN
from the engine's maintained data.  The decision itself (explicit-deny precedence, resource and
trust policies, ``Principal``/``NotPrincipal``, every condition operator, policy variables) is
entirely the engine's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .. import policy as pe

if TYPE_CHECKING:
    from .principal import Principal

Verdict = pe.Decision
Result = pe.Result


class Kind(StrEnum):
    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"


@dataclass(frozen=True)
class NamedPolicy:
    name: str
    document: str  # JSON text ("" when given parsed)
    parsed: pe.PolicyDocument | None = None

    def doc(self) -> pe.PolicyDocument:
        return self.parsed if self.parsed is not None else parse(self.name, self.document)


@dataclass(frozen=True)
class AwsManaged:
    name: str
    path: str
    policy_id: str
    version: str
    document: str


@lru_cache(maxsize=4096)
def parse(name: str, document: str) -> pe.PolicyDocument:
    """The parsed document (PolicyError when malformed)."""
    return pe.parse_policy_json(document, name=name)


def validate(text: str, kind: Kind) -> None:
    """PolicyError unless ``text`` is a well-formed policy of ``kind``."""
    doc = parse("document", text)
    if kind is Kind.IDENTITY:
        pe.Evaluator(identity=[doc])
    elif kind is Kind.RESOURCE:
        pe.Evaluator(resource_policy=doc)
    else:
        pe.Evaluator(trust_policy=doc)


@lru_cache(maxsize=2048)
def aws_managed(arn: str) -> AwsManaged | None:
    """An AWS managed policy by its ARN (``arn:aws:iam::aws:policy/...``), None if there is none."""
    if not arn.startswith("arn:aws:iam::aws:policy/"):
        return None
    try:
        info = pe.managed_policy_info(arn)
    except pe.PolicyError:
        return None
    pid = "ANPA" + hashlib.sha256(arn.encode()).hexdigest()[:17].upper()
    return AwsManaged(info.name, info.path, pid, info.default_version or "v1", json.dumps(info.document))


def principal_of(p: Principal, account: str) -> pe.Principal:
    from .principal import PrincipalKind

    if p.kind is PrincipalKind.ROLE_SESSION and p.role is not None:
        session = p.arn.rsplit("/", 1)[-1]
        return pe.Principal.role_session(p.role.name, session, account, p.role.path)
    if p.kind is PrincipalKind.USER and p.user is not None:
        return pe.Principal.user(p.user.name, account, p.user.path)
    return pe.Principal.root(account)


def evaluate(identity: Sequence[NamedPolicy], action: str, resource: str, keys: Mapping[str, Any],
             principal: pe.Principal | None, *, resource_policy: NamedPolicy | None = None,
             trust_policy: NamedPolicy | None = None) -> pe.Result:
    """The engine's decision for one (action, resource) request."""
    docs = [p.doc() for p in identity]
    ctx = pe.RequestContext(action, resource, principal, keys)
    return pe.evaluate(docs, ctx,
                       resource_policy=resource_policy.doc() if resource_policy else None,
                       trust_policy=trust_policy.doc() if trust_policy else None)
