"""Decide Allow / explicit Deny / implicit Deny for one request, as IAM does within one account.

Inputs (all optional but the request): the identity-based policies of the principal (user + groups
or role, managed and inline: the caller passes the set), one resource-based policy (an S3 bucket
policy) *or* a role trust policy, a permissions boundary and session policies.  The logic follows
AWS's documented policy evaluation for a request within a single account:

1. **Explicit deny.**  Every applicable statement of every policy is found; a ``Deny`` anywhere
   (identity, resource, boundary, session) decides: ``EXPLICIT_DENY``.
2. **Resource-based allow.**  An ``Allow`` in the resource policy whose ``Principal`` names the caller
   itself (the user ARN, the role *session* ARN, the service, ``"*"``) allows the request, whatever
   the identity policies, boundary or session policies say.  When it names the *role* behind a role
   session, the boundary and session policies must still allow (AWS's rule for role ARNs).  When it
   names only the caller's *account* (``arn:aws:iam::ACCOUNT:root`` or the bare account id), the
   account delegates: the identity policies must allow as well.
3. **Trust policies** (``trust_policy=``, for ``sts:AssumeRole*`` on the role) must allow in any
   case: naming the caller directly is enough; naming the account needs an identity allow too.
   Without any trust allow the result is an implicit deny decided by the resource-based policy.
4. **Identity-based allow.**  Otherwise some identity policy must allow (the account's root user
   needs none), then the permissions boundary (when given) and a session policy (when given) must
   allow as well; the first that does not is the one that ``IMPLICIT_DENY`` names.

Not modelled: cross-account access (every principal and resource is taken to be in one account),
SCPs / RCPs, VPC endpoint policies, ACLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .conditions import evaluate_condition
from .context import MODELLED_KEYS, Principal, PrincipalKind, RequestContext
from .document import Effect, PolicyDocument, PrincipalSpec, Statement
from .errors import PolicyKindError
from .matching import Unresolved, action_matches, arn_match


class Decision(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"

    @property
    def aws_name(self) -> str:
        """The EvalDecision of AWS's policy simulator: ``allowed``, ``explicitDeny``, ``implicitDeny``."""
        names = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}
        return names[self.value]


class PolicyKind(StrEnum):
    IDENTITY = "identity"
    RESOURCE = "resource"
    BOUNDARY = "boundary"
    SESSION = "session"

    @property
    def noun(self) -> str:
        """As AWS's AccessDenied messages name it."""
        return {"identity": "identity-based policy", "resource": "resource-based policy",
                "boundary": "permissions boundary", "session": "session policy"}[self.value]


@dataclass(frozen=True)
class Match:
    """An applicable statement.  ``via`` (resource policies): how the principal was named —
    ``principal`` (the caller itself or everyone), ``role`` (the role of a role session) or ``account``."""

    policy: str
    kind: PolicyKind
    statement: Statement
    via: str | None = None

    @property
    def label(self) -> str:
        return f"{self.policy}:{self.statement.label}"

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "kind": self.kind.value, "sid": self.statement.sid,
                "index": self.statement.index, "effect": self.statement.effect.value, "via": self.via}


@dataclass(frozen=True)
class EvalWarning:
    """Something the evaluator could not know and treated as absent (an unknown condition key ...)."""

    message: str
    policy: str | None = None
    statement: str | None = None

    def __str__(self) -> str:
        where = ":".join(x for x in (self.policy, self.statement) if x)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "policy": self.policy, "statement": self.statement}


@dataclass(frozen=True)
class Result:
    decision: Decision
    context: RequestContext
    kind: PolicyKind | None = None       # which kind of policy decided (None: nothing applied at all)
    deciding: tuple[Match, ...] = ()     # the statements that decided (empty for an implicit deny)
    matched: tuple[Match, ...] = ()      # every applicable statement, in evaluation order
    warnings: tuple[EvalWarning, ...] = ()
    note: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def statement(self) -> Statement | None:
        """The first deciding statement (None for an implicit deny)."""
        return self.deciding[0].statement if self.deciding else None

    @property
    def policy(self) -> str | None:
        """The policy holding :attr:`statement`."""
        return self.deciding[0].policy if self.deciding else None

    @property
    def missing_context_keys(self) -> tuple[str, ...]:
        """Condition keys tested but absent and unknown to the evaluator (AWS: MissingContextValues)."""
        out: dict[str, str] = {}
        for w in self.warnings:
            if w.message.startswith("condition key ") and w.message.endswith("(treated as absent)"):
                key = w.message.split()[2]
                out.setdefault(key.lower(), key)
        return tuple(out.values())

    @property
    def reason(self) -> str:
        """AWS's phrase: ``with an explicit deny in an identity-based policy`` / ``because no
        identity-based policy allows the s3:GetObject action`` / ``allowed by ...``."""
        kind = self.kind or PolicyKind.IDENTITY
        if self.decision is Decision.EXPLICIT_DENY:
            article = "an" if kind is PolicyKind.IDENTITY else "a"
            return f"with an explicit deny in {article} {kind.noun}"
        if self.decision is Decision.IMPLICIT_DENY:
            return f"because no {kind.noun} allows the {self.context.action} action"
        if self.note:
            return self.note
        return f"allowed by {self.deciding[0].label} ({kind.noun})" if self.deciding else "allowed"

    def access_denied_message(self, caller_arn: str | None = None) -> str:
        """The message of AWS's AccessDenied for this request."""
        who = caller_arn or (self.context.principal.arn if self.context.principal else "") or "anonymous"
        return (f"User: {who} is not authorized to perform: {self.context.action} on resource: "
                f"{self.context.resource} {self.reason}")

    def summary(self, with_policy: bool = True) -> str:
        """One line: ``explicitly denied by force-mfa.json:DenyNoMFA`` / ``implicit deny: ...``."""
        if self.decision is Decision.IMPLICIT_DENY:
            return f"implicit deny: {self.reason}"
        verb = "allowed" if self.allowed else "explicitly denied"
        if not self.deciding:
            return f"{verb}: {self.reason}"
        m = self.deciding[0]
        return f"{verb} by {m.label if with_policy else m.statement.label}"

    def explain(self) -> str:
        """A multi-line account in the manner of AWS's policy simulator."""
        ctx = self.context
        lines = [f"{ctx.action} on {ctx.resource}: {self.decision.aws_name}"]
        if ctx.principal is not None:
            lines.append(f"  principal: {ctx.principal.arn or ctx.principal.name}")
        lines.append(f"  reason:    {self.reason}")
        if self.deciding:
            lines.append("  deciding statements:")
            via = {"role": ", which names the caller's role", "account": ", which names the caller's account"}
            lines += [f"    {m.statement.effect.value:<5} {m.label}  "
                      f"({m.kind.noun}{via.get(m.via or '', '')})" for m in self.deciding]
        others = [m for m in self.matched if m not in self.deciding]
        if others:
            lines.append("  other matching statements:")
            lines += [f"    {m.statement.effect.value:<5} {m.label}  ({m.kind.noun})" for m in others]
        if self.missing_context_keys:
            lines.append(f"  missing context values: {', '.join(self.missing_context_keys)}")
        if self.warnings:
            lines.append("  warnings:")
            lines += [f"    {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "eval_decision": self.decision.aws_name,
                "kind": self.kind.value if self.kind else None, "reason": self.reason,
                "policy": self.policy, "statement": self.statement.to_dict() if self.statement else None,
                "deciding": [m.to_dict() for m in self.deciding],
                "matched": [m.to_dict() for m in self.matched],
                "missing_context_keys": list(self.missing_context_keys),
                "warnings": [w.to_dict() for w in self.warnings],
                "context": self.context.to_dict(), "explain": self.summary()}


# --------------------------------------------------------------------------- statement matching


def principal_via(spec: PrincipalSpec, p: Principal | None) -> str | None:
    """How a ``Principal`` element names the caller: ``principal``, ``role``, ``account`` or None."""
    if spec.everyone:
        return "principal"
    if p is None:
        return None
    if p.kind is PrincipalKind.SERVICE:
        return "principal" if (p.name or "").lower() in spec.service else None
    if p.kind is PrincipalKind.WEB_IDENTITY:
        return "principal" if p.name in spec.federated else None
    if p.arn and p.arn in spec.aws:
        return "principal"
    if p.role_arn and p.role_arn in spec.aws:
        return "role"
    if p.account_root and p.account_root in spec.aws:
        return "principal" if p.kind is PrincipalKind.ROOT else "account"
    return None


def not_principal_excludes(spec: PrincipalSpec, p: Principal | None) -> bool:
    """Whether ``NotPrincipal`` exempts the caller: its own ARN (the user, the role *session*) **and**
    its account must both be listed, as AWS requires; a service or provider by name."""
    if spec.everyone:
        return True
    if p is None or p.kind is PrincipalKind.ANONYMOUS:
        return False
    if p.kind is PrincipalKind.SERVICE:
        return (p.name or "").lower() in spec.service
    if p.kind is PrincipalKind.WEB_IDENTITY:
        return p.name in spec.federated
    if p.kind is PrincipalKind.ROOT:
        return p.arn in spec.aws
    return p.arn in spec.aws and p.account_root in spec.aws


class _Scan:
    """Collects warnings while matching statements against one request."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.warnings: list[EvalWarning] = []

    def warn(self, message: str, doc: PolicyDocument, st: Statement) -> None:
        w = EvalWarning(message, doc.name, st.label)
        if w not in self.warnings:
            self.warnings.append(w)

    def resource_hit(self, doc: PolicyDocument, st: Statement) -> bool:
        if not st.resources:
            return True
        variables = self.ctx if doc.substitutes_variables else None
        hit = False
        for r in st.resources:
            try:
                if arn_match(r, self.ctx.resource, variables):
                    hit = True
                    break
            except Unresolved as u:
                if u.name.lower() not in MODELLED_KEYS or u.why != "is not in the request context":
                    self.warn(f"policy variable ${{{u.name}}} {u.why}: {r} cannot match", doc, st)
        return hit != st.not_resource

    def applies(self, doc: PolicyDocument, st: Statement) -> bool:
        hit = any(action_matches(a, self.ctx.action) for a in st.actions)
        if hit == st.not_action:
            return False
        if not self.resource_hit(doc, st):
            return False
        for c in st.conditions:
            out = evaluate_condition(c.op, c.key, c.values, self.ctx, doc.substitutes_variables)
            for w in out.warnings:
                self.warn(w, doc, st)
            if not out.holds:
                return False
        return True

    def scan(self, docs: Sequence[PolicyDocument], kind: PolicyKind) -> tuple[list[Match], list[Match]]:
        allows: list[Match] = []
        denies: list[Match] = []
        for doc in docs:
            for st in doc.statements:
                via = None
                if st.principal is not None:
                    if st.not_principal:
                        if not_principal_excludes(st.principal, self.ctx.principal):
                            continue
                        via = "principal"
                    else:
                        via = principal_via(st.principal, self.ctx.principal)
                        if via is None:
                            continue
                if not self.applies(doc, st):
                    continue
                m = Match(doc.name, kind, st, via)
                (denies if st.effect is Effect.DENY else allows).append(m)
        return allows, denies


# --------------------------------------------------------------------------- the evaluator


def validate_identity_policy(doc: PolicyDocument, what: str = "an identity-based policy") -> PolicyDocument:
    """Raise :class:`PolicyKindError` when ``doc`` names a principal (CreatePolicy, PutUserPolicy ...)."""
    _identity_kind([doc], what)
    return doc


def validate_resource_policy(doc: PolicyDocument, what: str = "resource-based policy") -> PolicyDocument:
    """Raise :class:`PolicyKindError` unless every statement names a principal (bucket / trust policy)."""
    _resource_kind(doc, what)
    return doc


def _identity_kind(docs: Iterable[PolicyDocument], what: str) -> tuple[PolicyDocument, ...]:
    out = tuple(docs)
    for d in out:
        if not isinstance(d, PolicyDocument):
            raise TypeError(f"{what.split(' ', 1)[1]}: expected PolicyDocument, got {type(d).__name__}")
        st = next((s for s in d.statements if s.principal is not None), None)
        if st is not None:
            el = "NotPrincipal" if st.not_principal else "Principal"
            raise PolicyKindError(f"{el}: {what} cannot name a principal (only resource-based and trust "
                                  "policies do)", policy=d.name, statement=f"statement {st.label!r}",
                                  element=el)
    return out


def _resource_kind(doc: PolicyDocument | None, what: str) -> PolicyDocument | None:
    if doc is None:
        return None
    st = next((s for s in doc.statements if s.principal is None), None)
    if st is not None:
        raise PolicyKindError(f"Principal: every statement of a {what} names a Principal or NotPrincipal",
                              policy=doc.name, statement=f"statement {st.label!r}", element="Principal")
    return doc


@dataclass(frozen=True)
class Evaluator:
    """The policies that bear on one principal's requests; :meth:`evaluate` decides one request.

    Building it checks each document is used as the right kind (PolicyKindError otherwise).
    ``identity`` may be empty: nothing is allowed then (but for the root user and resource grants).
    """

    identity: Sequence[PolicyDocument] = ()
    resource_policy: PolicyDocument | None = None
    trust_policy: PolicyDocument | None = None
    permissions_boundary: PolicyDocument | None = None
    session_policies: Sequence[PolicyDocument] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", _identity_kind(self.identity, "an identity-based policy"))
        sessions = _identity_kind(self.session_policies, "a session policy")
        object.__setattr__(self, "session_policies", sessions)
        if self.permissions_boundary is not None:
            _identity_kind([self.permissions_boundary], "a permissions boundary")
        if self.resource_policy is not None and self.trust_policy is not None:
            raise PolicyKindError("give a resource-based policy or a trust policy, not both")
        _resource_kind(self.resource_policy, "resource-based policy")
        _resource_kind(self.trust_policy, "trust policy")

    @property
    def policies(self) -> tuple[PolicyDocument, ...]:
        """Every document, in evaluation order."""
        rp = self.resource_policy or self.trust_policy
        return (*self.identity, *([rp] if rp else []),
                *([self.permissions_boundary] if self.permissions_boundary else []), *self.session_policies)

    def evaluate(self, ctx: RequestContext) -> Result:
        s = _Scan(ctx)
        id_allow, id_deny = s.scan(self.identity, PolicyKind.IDENTITY)
        rp = self.resource_policy or self.trust_policy
        rs_allow, rs_deny = s.scan([rp] if rp else [], PolicyKind.RESOURCE)
        pb_allow, pb_deny = s.scan([self.permissions_boundary] if self.permissions_boundary else [],
                                   PolicyKind.BOUNDARY)
        se_allow, se_deny = s.scan(self.session_policies, PolicyKind.SESSION)
        matched = (*id_deny, *rs_deny, *pb_deny, *se_deny, *id_allow, *rs_allow, *pb_allow, *se_allow)
        warnings = tuple(s.warnings)

        def result(decision: Decision, kind: PolicyKind | None, deciding: Sequence[Match] = (),
                   note: str | None = None) -> Result:
            return Result(decision, ctx, kind, tuple(deciding), matched, warnings, note)

        denies = [*id_deny, *rs_deny, *pb_deny, *se_deny]
        if denies:
            return result(Decision.EXPLICIT_DENY, denies[0].kind, denies)
        direct = [m for m in rs_allow if m.via == "principal"]
        if direct:
            return result(Decision.ALLOW, PolicyKind.RESOURCE, direct)
        boundary_ok = self.permissions_boundary is None or bool(pb_allow)
        session_ok = not self.session_policies or bool(se_allow)
        via_role = [m for m in rs_allow if m.via == "role"]
        if via_role:
            if not boundary_ok:
                return result(Decision.IMPLICIT_DENY, PolicyKind.BOUNDARY)
            if not session_ok:
                return result(Decision.IMPLICIT_DENY, PolicyKind.SESSION)
            return result(Decision.ALLOW, PolicyKind.RESOURCE, via_role)
        if self.trust_policy is not None and not rs_allow:
            return result(Decision.IMPLICIT_DENY, PolicyKind.RESOURCE)
        is_root = ctx.principal is not None and ctx.principal.kind is PrincipalKind.ROOT
        if not id_allow and not is_root:
            return result(Decision.IMPLICIT_DENY, PolicyKind.IDENTITY)
        if not boundary_ok:
            return result(Decision.IMPLICIT_DENY, PolicyKind.BOUNDARY)
        if not session_ok:
            return result(Decision.IMPLICIT_DENY, PolicyKind.SESSION)
        if not id_allow:
            return result(Decision.ALLOW, PolicyKind.IDENTITY,
                          note="allowed: the account's root user needs no identity-based policy")
        return result(Decision.ALLOW, PolicyKind.IDENTITY, id_allow)


def evaluate(identity: PolicyDocument | Iterable[PolicyDocument], ctx: RequestContext, *,
             resource_policy: PolicyDocument | None = None, trust_policy: PolicyDocument | None = None,
             permissions_boundary: PolicyDocument | None = None,
             session_policies: Iterable[PolicyDocument] = ()) -> Result:
    """One-shot :meth:`Evaluator.evaluate`."""
    ids = (identity,) if isinstance(identity, PolicyDocument) else tuple(identity)
    return Evaluator(ids, resource_policy, trust_policy, permissions_boundary,
                     tuple(session_policies)).evaluate(ctx)


__all__ = ["Decision", "EvalWarning", "Evaluator", "Match", "PolicyKind", "Result", "evaluate",
           "not_principal_excludes", "principal_via", "validate_identity_policy", "validate_resource_policy"]
