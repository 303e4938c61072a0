"""Decide Allow / explicit Deny / implicit Deny for one request against IAM identity policies.

Deliberately small and scoped.  No maintained Python library evaluates IAM conditions correctly
for this purpose: moto's ``access_control`` evaluates only ``StringEquals`` and treats every other
condition operator as satisfied (so a ``BoolIfExists`` MFA deny would always fire), and the other
packages found lint or generate policies rather than evaluate them.  So this module implements
the IAM evaluation logic for identity-based policies only, and only what MFA enforcement needs:

* ``Effect``; ``Action`` / ``NotAction`` with ``*`` and ``?`` wildcards, case-insensitive;
* ``Resource`` / ``NotResource`` with wildcards (case-sensitive) and the ``${aws:username}``
  variable (plus ``${*}``, ``${?}``, ``${$}`` and ``${key, 'default'}``), resolved only in
  version ``2012-10-17`` policies, as AWS does;
* condition operators ``Bool``, ``NumericEquals``, ``NumericNotEquals``, ``NumericLessThan``,
  ``NumericLessThanEquals``, ``NumericGreaterThan``, ``NumericGreaterThanEquals`` (each also with
  ``...IfExists``) and ``Null``, on the keys ``aws:MultiFactorAuthPresent`` and
  ``aws:MultiFactorAuthAge``.

Any other operator or key raises :class:`PolicyError` when the evaluator is built, instead of
guessing.  Logic: an applicable Deny wins (explicit deny); otherwise an applicable Allow allows;
otherwise the request is implicitly denied.  Permission boundaries, SCPs, session and
resource-based policies are out of scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from .document import Condition, Effect, Policy, Statement
from .errors import PolicyError

MFA_PRESENT = "aws:multifactorauthpresent"
MFA_AGE = "aws:multifactorauthage"
SUPPORTED_KEYS = {MFA_PRESENT: "aws:MultiFactorAuthPresent", MFA_AGE: "aws:MultiFactorAuthAge"}

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}
OPERATORS = ("Bool", "Null", *_NUMERIC)


@dataclass(frozen=True)
class RequestContext:
    """What IAM knows about one request.

    ``mfa_present`` None means the key is absent (long-term access keys); False means temporary
    credentials obtained without MFA (e.g. a console session signed in with a password only).
    ``mfa_age`` is seconds since the MFA authentication, None when absent.
    """

    action: str
    resource: str = "*"
    username: str | None = None
    mfa_present: bool | None = None
    mfa_age: float | None = None

    @classmethod
    def long_term_keys(cls, action: str, resource: str = "*", username: str | None = None) -> RequestContext:
        return cls(action, resource, username, None, None)

    @classmethod
    def session(cls, action: str, resource: str = "*", username: str | None = None,
                mfa_age: float | None = None) -> RequestContext:
        """Temporary credentials; with MFA when ``mfa_age`` is given."""
        return cls(action, resource, username, mfa_age is not None, mfa_age)

    def key(self, lowered: str) -> str | None:
        if lowered == MFA_PRESENT:
            return None if self.mfa_present is None else ("true" if self.mfa_present else "false")
        if lowered == MFA_AGE:
            return None if self.mfa_age is None else _num(self.mfa_age)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "resource": self.resource, "username": self.username,
                "mfa_present": self.mfa_present, "mfa_age": self.mfa_age}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class Decision(StrEnum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Result:
    decision: Decision
    context: RequestContext
    statement: Statement | None = None  # the statement that decided (None for an implicit deny)
    policy: str | None = None

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    def explain(self, with_policy: bool = True) -> str:
        if self.statement is None:
            return "implicit deny: no statement allows it"
        verb = "allowed" if self.allowed else "explicitly denied"
        where = f"{self.policy}:" if with_policy and self.policy else ""
        return f"{verb} by {where}{self.statement.label}"

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "policy": self.policy,
                "statement": self.statement.to_dict() if self.statement else None,
                "context": self.context.to_dict(), "explain": self.explain()}


# --------------------------------------------------------------------------- matching


@lru_cache(maxsize=1024)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """``iam:*MFA*`` style match; service and action names are case-insensitive."""
    return _glob(pattern, True).fullmatch(action) is not None


_VAR = re.compile(r"\$\{([^}]*)\}")


def _resolve(var: str, ctx: RequestContext) -> str | None:
    name, _, default = var.partition(",")
    name = name.strip()
    if name in ("*", "?", "$"):
        return name
    value = ctx.username if name.lower() == "aws:username" else None
    if value is None and default:
        d = default.strip()
        if len(d) >= 2 and d[0] == d[-1] == "'":
            return d[1:-1]
    return value


def resource_matches(pattern: str, resource: str, ctx: RequestContext, variables: bool = True) -> bool:
    """ARN glob match (case-sensitive); variables resolved to literal text, unresolvable → no match."""
    if variables and "${" in pattern:
        out: list[str] = []
        pos = 0
        for m in _VAR.finditer(pattern):
            out.append(_glob(pattern[pos:m.start()], False).pattern)
            value = _resolve(m.group(1), ctx)
            if value is None:
                return False
            out.append(re.escape(value))
            pos = m.end()
        out.append(_glob(pattern[pos:], False).pattern)
        return re.fullmatch("".join(out), resource, re.DOTALL) is not None
    return _glob(pattern, False).fullmatch(resource) is not None


def _split_operator(op: str) -> tuple[str, bool]:
    if op.endswith("IfExists") and op != "Null":
        return op[: -len("IfExists")], True
    return op, False


def check_condition(cond: Condition, where: str) -> None:
    """Raise PolicyError for anything outside the modelled operators, keys and values."""
    base, _ = _split_operator(cond.operator)
    if ":" in cond.operator:
        raise PolicyError(f"{where}: set operator {cond.operator} is not supported by this evaluator")
    if base not in OPERATORS or cond.operator == "NullIfExists":
        raise PolicyError(f"{where}: condition operator {cond.operator} is not supported by this evaluator "
                          f"(supported: Bool, Null, Numeric*, with IfExists)")
    if cond.key.lower() not in SUPPORTED_KEYS:
        raise PolicyError(f"{where}: condition key {cond.key} is not modelled (this evaluator covers "
                          "aws:MultiFactorAuthPresent and aws:MultiFactorAuthAge only)")
    for v in cond.values:
        if base in ("Bool", "Null") and v.lower() not in ("true", "false"):
            raise PolicyError(f"{where}: {cond.operator} needs \"true\" or \"false\", not {v!r}")
        if base in _NUMERIC:
            try:
                float(v)
            except ValueError:
                raise PolicyError(f"{where}: {cond.operator} needs a number, not {v!r}") from None


def condition_holds(cond: Condition, ctx: RequestContext) -> bool:
    base, if_exists = _split_operator(cond.operator)
    value = ctx.key(cond.key.lower())
    if base == "Null":  # "true": the key must be absent; "false": it must be present
        return any((v.lower() == "true") == (value is None) for v in cond.values)
    if value is None:
        return if_exists
    if base == "Bool":
        return value.lower() in {v.lower() for v in cond.values}
    try:
        x = float(value)
    except ValueError:
        return False
    cmp = _NUMERIC[base]
    return any(cmp(x, float(v)) for v in cond.values)


def statement_applies(st: Statement, ctx: RequestContext, variables: bool = True) -> bool:
    hit = any(action_matches(a, ctx.action) for a in st.actions)
    if hit == st.not_action:
        return False
    hit = any(resource_matches(r, ctx.resource, ctx, variables) for r in st.resources)
    if hit == st.not_resource:
        return False
    return all(condition_holds(c, ctx) for c in st.conditions)


class Evaluator:
    """A set of identity policies attached to one principal."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = tuple(policies)
        if not self.policies:
            raise PolicyError("no policy to evaluate")
        for p in self.policies:
            for st in p.statements:
                for c in st.conditions:
                    check_condition(c, f"{p.name}: statement {st.label}")

    def evaluate(self, ctx: RequestContext) -> Result:
        allow: Result | None = None
        for p in self.policies:
            for st in p.statements:
                if not statement_applies(st, ctx, p.substitutes_variables):
                    continue
                if st.effect is Effect.DENY:
                    return Result(Decision.EXPLICIT_DENY, ctx, st, p.name)
                if allow is None:
                    allow = Result(Decision.ALLOW, ctx, st, p.name)
        return allow or Result(Decision.IMPLICIT_DENY, ctx)


def evaluate(policies: Policy | Iterable[Policy], ctx: RequestContext) -> Result:
    """One-shot :meth:`Evaluator.evaluate`."""
    ps = [policies] if isinstance(policies, Policy) else list(policies)
    return Evaluator(ps).evaluate(ctx)
