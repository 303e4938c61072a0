"""IAM identity-based policy documents: parse and validate into :class:`Policy` / :class:`Statement`.

Only the elements an identity policy can carry are accepted (``Sid``, ``Effect``, ``Action`` /
``NotAction``, ``Resource`` / ``NotResource``, ``Condition``); ``Principal`` / ``NotPrincipal`` mark a
resource-based or trust policy, which this package does not evaluate.  Anything malformed raises
:class:`~tokens.policy.errors.PolicyError` with a message naming the statement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import PolicyError

VERSIONS = ("2012-10-17", "2008-10-17")


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` entry, values already normalised to strings."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """``Sid`` when there is one, else ``Statement[i]``."""
        return self.sid if self.sid else f"Statement[{self.index}]"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "sid": self.sid, "effect": self.effect.value}


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    statements: tuple[Statement, ...]

    @property
    def substitutes_variables(self) -> bool:
        """Policy variables are only resolved under version 2012-10-17; older ones keep them literal."""
        return self.version == "2012-10-17"


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise PolicyError(f"{where}: {what} is an empty list")
    out = []
    for item in items:
        if not isinstance(item, str) or not item:
            raise PolicyError(f"{where}: {what} must be a string or a list of strings")
        out.append(item)
    return tuple(out)


def _condition_value(v: Any, where: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise PolicyError(f"{where}: condition values must be strings, numbers or booleans")


def _conditions(block: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(block, Mapping):
        raise PolicyError(f"{where}: Condition must be an object")
    out = []
    for operator, entries in block.items():
        if not isinstance(entries, Mapping) or not entries:
            raise PolicyError(f"{where}: Condition operator {operator!r} needs an object of key: values")
        for key, raw in entries.items():
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise PolicyError(f"{where}: condition {operator} {key} has no values")
            out.append(Condition(str(operator), str(key),
                                 tuple(_condition_value(v, where) for v in items)))
    return tuple(out)


def _statement(i: int, raw: Any) -> Statement:
    where = f"Statement[{i}]"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} is not an object")
    sid = raw.get("Sid")
    if sid is not None:
        where = f"statement {sid!r}"
    for bad in ("Principal", "NotPrincipal"):
        if bad in raw:
            raise PolicyError(f"{where} has {bad}: only identity-based policies are evaluated")
    unknown = set(raw) - {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}
    if unknown:
        raise PolicyError(f"{where}: unknown element(s) {', '.join(sorted(unknown))}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}: Effect must be \"Allow\" or \"Deny\"")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where} needs exactly one of Action or NotAction")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise PolicyError(f"{where} needs exactly one of Resource or NotResource")
    akey = "Action" if "Action" in raw else "NotAction"
    rkey = "Resource" if "Resource" in raw else "NotResource"
    actions = _strings(raw[akey], akey, where)
    for a in actions:
        if a != "*" and ":" not in a:
            raise PolicyError(f"{where}: action {a!r} is not service:action")
    return Statement(
        index=i, sid=str(sid) if sid is not None else None, effect=Effect(effect),
        actions=actions, not_action=akey == "NotAction",
        resources=_strings(raw[rkey], rkey, where), not_resource=rkey == "NotResource",
        conditions=_conditions(raw.get("Condition", {}), where),
    )


def parse_policy(doc: Any, name: str = "policy") -> Policy:
    """Validate a decoded JSON document as an IAM identity policy."""
    if not isinstance(doc, Mapping) or "Statement" not in doc:
        raise PolicyError(f"{name}: not an IAM policy (expected an object with a Statement element)")
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise PolicyError(f"{name}: unknown policy Version {version!r} (expected 2012-10-17)")
    raw = doc["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicyError(f"{name}: the policy has no statements")
    try:
        statements = tuple(_statement(i, s) for i, s in enumerate(items))
    except PolicyError as e:
        raise PolicyError(f"{name}: {e}") from None
    return Policy(name=name, version=str(version), statements=statements)


def load_policy(path: str | Path) -> Policy:
    """Read and parse a policy JSON file (one-line errors for unreadable or invalid files)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise PolicyError(f"cannot read {p}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{p}: not UTF-8 text") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise PolicyError(f"{p}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    return parse_policy(doc, name=p.name)
