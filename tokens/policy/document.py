"""IAM policy documents: parse and validate JSON into :class:`PolicyDocument` / :class:`Statement`.

One grammar for identity-based policies (user, group, role, managed, permissions boundaries, session
policies) and resource-based ones (S3 bucket policies, role trust policies): a statement carries
``Sid``, ``Effect``, ``Action`` | ``NotAction``, ``Resource`` | ``NotResource`` (optional when the
statement names a principal, as trust policies do), ``Principal`` | ``NotPrincipal`` and
``Condition``.  Whether a document may carry a principal is checked when it is used
(:class:`~tokens.policy.evaluate.Evaluator`), not here.

Anything malformed raises :class:`~tokens.policy.errors.MalformedPolicyError` whose message names the
policy, the statement (``Sid`` or ``Statement[i]``) and the element, e.g.
``force-mfa.json: statement 'DenyNoMFA': Condition: 'BoolIfExist' is not an IAM condition operator``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from .conditions import Operator, check_value, parse_operator
from .errors import MalformedPolicyError, PolicyError
from .matching import as_text

VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_CHARS = 1_000_000  # far above AWS's largest quota (10 240 for managed); a guard, not a quota
_STATEMENT_ELEMENTS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                       "NotResource", "Condition"}
_ACCOUNT_ID = re.compile(r"\d{12}")
_UNIQUE_ID = re.compile(r"A[A-Z0-9]{15,127}")  # what AWS shows for a deleted principal (AIDA..., AROA...)


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry; values normalised to strings (``true``, ``3600``)."""

    operator: str
    key: str
    values: tuple[str, ...]
    op: Operator = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.op is None:
            try:
                object.__setattr__(self, "op", parse_operator(self.operator))
            except ValueError as e:
                raise MalformedPolicyError(f"Condition: {e}", element="Condition") from None

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "key": self.key, "values": list(self.values)}


@dataclass(frozen=True)
class PrincipalSpec:
    """A ``Principal`` / ``NotPrincipal`` element.  ``aws`` entries are normalised: a bare account id
    becomes ``arn:aws:iam::ACCOUNT:root``; ``everyone`` is ``"*"`` (or ``{"AWS": "*"}``)."""

    everyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any] | str:
        if self.everyone and not (self.aws or self.service or self.federated):
            return "*"
        out: dict[str, Any] = {}
        for k, v in (("AWS", self.aws), ("Service", self.service), ("Federated", self.federated),
                     ("CanonicalUser", self.canonical_user)):
            if v:
                out[k] = list(v)
        return out


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]  # empty: no Resource element (a trust policy: the resource it is on)
    not_resource: bool
    conditions: tuple[Condition, ...]
    principal: PrincipalSpec | None = None
    not_principal: bool = False

    @property
    def label(self) -> str:
        """``Sid`` when there is one, else ``Statement[i]``."""
        return self.sid if self.sid else f"Statement[{self.index}]"

    @property
    def names_principal(self) -> bool:
        return self.principal is not None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "sid": self.sid, "effect": self.effect.value}


@dataclass(frozen=True)
class PolicyDocument:
    """A parsed policy.  ``name`` identifies it in results (file name, policy name or ARN)."""

    name: str
    version: str
    statements: tuple[Statement, ...]
    id: str | None = None

    @property
    def substitutes_variables(self) -> bool:
        """Policy variables are only resolved under version 2012-10-17; older ones keep them literal."""
        return self.version == "2012-10-17"

    @property
    def names_principals(self) -> bool:
        """Whether any statement has Principal / NotPrincipal (a resource-based policy)."""
        return any(s.principal is not None for s in self.statements)

    @property
    def condition_keys(self) -> tuple[str, ...]:
        """Every condition key the document tests, in order of appearance, without duplicates."""
        seen: dict[str, str] = {}
        for s in self.statements:
            for c in s.conditions:
                seen.setdefault(c.key.lower(), c.key)
        return tuple(seen.values())

    def renamed(self, name: str) -> PolicyDocument:
        return PolicyDocument(name, self.version, self.statements, self.id)


# --------------------------------------------------------------------------- parsing


class _Where:
    def __init__(self, policy: str, statement: str | None = None) -> None:
        self.policy = policy
        self.statement = statement

    def fail(self, element: str | None, message: str) -> MalformedPolicyError:
        msg = f"{element}: {message}" if element else message
        return MalformedPolicyError(msg, policy=self.policy, statement=self.statement, element=element)


def _strings(value: Any, element: str, where: _Where) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise where.fail(element, "is an empty list")
    out = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise where.fail(element, "must be a non-empty string or a list of them")
        out.append(item)
    return tuple(out)


def _condition_value(v: Any, element: str, where: _Where) -> str:
    """A JSON scalar as IAM compares it (``true``, ``3600``): the same text as a context value's."""
    if isinstance(v, bool | int | float | str):
        text = as_text(v)
        if text is not None:
            return text
    raise where.fail(element, "condition values must be strings, numbers or booleans")


def _conditions(block: Any, where: _Where) -> tuple[Condition, ...]:
    if not isinstance(block, Mapping):
        raise where.fail("Condition", "must be an object of operator: {key: values}")
    out = []
    for operator, entries in block.items():
        try:
            op = parse_operator(str(operator))
        except ValueError as e:
            raise where.fail("Condition", str(e)) from None
        if not isinstance(entries, Mapping) or not entries:
            raise where.fail("Condition", f"{operator} needs an object of key: values")
        for key, raw in entries.items():
            element = f"Condition {operator} {key}"
            if not isinstance(key, str) or not key.strip():
                raise where.fail("Condition", f"{operator} has an empty condition key")
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise where.fail(element, "has no values")
            values = tuple(_condition_value(v, element, where) for v in items)
            for v in values:
                try:
                    check_value(op, v)
                except ValueError as e:
                    raise where.fail(element, str(e)) from None
            out.append(Condition(str(operator), key, values, op))
    return tuple(out)


def _principal(raw: Any, element: str, where: _Where) -> PrincipalSpec:
    if raw == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(raw, Mapping) or not raw:
        raise where.fail(element, 'must be "*" or an object such as {"AWS": "123456789012"}')
    spec: dict[str, Any] = {}
    for kind, value in raw.items():
        items = _strings(value, f"{element} {kind}", where)
        if kind == "AWS":
            aws = []
            for item in items:
                if item == "*":
                    spec["everyone"] = True
                    continue
                if _ACCOUNT_ID.fullmatch(item):
                    item = f"arn:aws:iam::{item}:root"
                elif _UNIQUE_ID.fullmatch(item):
                    pass  # kept: it names no current principal, so it never matches
                elif not item.startswith("arn:") or item.count(":") < 5:
                    raise where.fail(element, f"invalid principal {item!r} (an account id or an ARN)")
                if "*" in item or "?" in item:
                    raise where.fail(element, f"invalid principal {item!r}: wildcards are not allowed in a "
                                              "principal ARN (use a condition on aws:PrincipalArn)")
                aws.append(item)
            spec["aws"] = tuple(aws)
        elif kind == "Service":
            spec["service"] = tuple(s.lower() for s in items)
        elif kind == "Federated":
            spec["federated"] = items
        elif kind == "CanonicalUser":
            spec["canonical_user"] = items
        else:
            raise where.fail(element, f"unknown principal type {kind!r} (AWS, Service, Federated or "
                                      "CanonicalUser)")
    return PrincipalSpec(**spec)


def _statement(i: int, raw: Any, policy: str) -> Statement:
    where = _Where(policy, f"Statement[{i}]")
    if not isinstance(raw, Mapping):
        raise where.fail(None, "is not an object")
    sid = raw.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            raise where.fail("Sid", "must be a string")
        where.statement = f"statement {sid!r}" if sid else where.statement
    unknown = set(raw) - _STATEMENT_ELEMENTS
    if unknown:
        raise where.fail(sorted(unknown)[0], f"unknown element(s) {', '.join(sorted(map(str, unknown)))}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise where.fail("Effect", 'must be "Allow" or "Deny"')
    if "Principal" in raw and "NotPrincipal" in raw:
        raise where.fail("Principal", "a statement has Principal or NotPrincipal, not both")
    pkey = "Principal" if "Principal" in raw else "NotPrincipal" if "NotPrincipal" in raw else None
    principal = _principal(raw[pkey], pkey, where) if pkey else None
    if ("Action" in raw) == ("NotAction" in raw):
        raise where.fail("Action", "needs exactly one of Action or NotAction")
    has_resource = "Resource" in raw or "NotResource" in raw
    if "Resource" in raw and "NotResource" in raw:
        raise where.fail("Resource", "needs exactly one of Resource or NotResource")
    if not has_resource and principal is None:
        raise where.fail("Resource", "needs exactly one of Resource or NotResource")
    akey = "Action" if "Action" in raw else "NotAction"
    actions = _strings(raw[akey], akey, where)
    for a in actions:
        if a != "*" and (":" not in a or a.startswith(":")):
            raise where.fail(akey, f"{a!r} is not service:action")
    rkey = "NotResource" if "NotResource" in raw else "Resource"
    resources = _strings(raw[rkey], rkey, where) if has_resource else ()
    for r in resources:
        if r != "*" and not r.startswith("arn:"):
            raise where.fail(rkey, f"{r!r} is not an ARN or *")
    return Statement(
        index=i, sid=sid or None, effect=Effect(effect), actions=actions, not_action=akey == "NotAction",
        resources=resources, not_resource=rkey == "NotResource" and has_resource,
        conditions=_conditions(raw.get("Condition", {}), where),
        principal=principal, not_principal=pkey == "NotPrincipal",
    )


def parse_policy(doc: Any, name: str = "policy") -> PolicyDocument:
    """Validate a decoded JSON document as an IAM policy (identity- or resource-based)."""
    where = _Where(name)
    if not isinstance(doc, Mapping) or "Statement" not in doc:
        raise where.fail(None, "not an IAM policy (expected an object with a Statement element)")
    unknown = set(doc) - {"Version", "Id", "Statement"}
    if unknown:
        raise where.fail(sorted(map(str, unknown))[0], "unknown top-level element")
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise where.fail("Version", f"unknown policy Version {version!r} (expected 2012-10-17)")
    pid = doc.get("Id")
    if pid is not None and not isinstance(pid, str):
        raise where.fail("Id", "must be a string")
    raw = doc["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise where.fail("Statement", "the policy has no statements")
    statements = tuple(_statement(i, s, name) for i, s in enumerate(items))
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        dup = next(x for x in sids if sids.count(x) > 1)
        raise where.fail("Sid", f"duplicate Sid {dup!r} (statement ids must be unique)")
    return PolicyDocument(name=name, version=str(version), statements=statements, id=pid)


def parse_policy_json(text: str | bytes, name: str = "policy") -> PolicyDocument:
    """Parse policy JSON text (what CreatePolicy / PutUserPolicy / a bucket policy carry)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPolicyError("not UTF-8 text", policy=name) from None
    if len(text) > MAX_POLICY_CHARS:
        raise MalformedPolicyError(f"the document is larger than {MAX_POLICY_CHARS} characters", policy=name)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise MalformedPolicyError(f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
                                   policy=name) from None
    except RecursionError:
        raise MalformedPolicyError("not valid JSON (nested too deeply)", policy=name) from None
    return parse_policy(doc, name=name)


def load_policy(path: str | Path) -> PolicyDocument:
    """Read and parse a policy JSON file (one-line errors for unreadable or invalid files)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise PolicyError(f"cannot read {p}: {e.strerror or e}") from None
    return parse_policy_json(data, name=p.name)


__all__ = ["VERSIONS", "Condition", "Effect", "PolicyDocument", "PrincipalSpec", "Statement", "load_policy",
           "parse_policy", "parse_policy_json"]
