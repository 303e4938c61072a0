"""IAM condition operators: parsing the operator names and deciding one ``operator: {key: values}`` entry.

Every operator AWS defines is implemented (see :data:`OPERATORS`), each with its ``...IfExists``
variant (except ``Null``) and the ``ForAnyValue:`` / ``ForAllValues:`` set qualifiers.  The rules:

* values of one key are ORed; for a negated operator (``StringNotEquals``, ``NotIpAddress``,
  ``ArnNotLike`` ...) they are NORed: the condition holds when the context value matches none of them;
* absent key (not in the context, or an empty list): false for a positive operator, **true** for a
  negated one, true with ``IfExists``; ``Null: true`` holds exactly when the key is absent;
* ``ForAllValues:`` holds when every context value matches (negated: matches none of the policy
  values); it holds for an absent key or an empty list;
* ``ForAnyValue:`` holds when at least one context value matches (negated: at least one matches none
  of the policy values); false for an absent key (true with ``IfExists``);
* a multivalued context key without a qualifier behaves as ``ForAnyValue:`` (negated: none matches);
* a context value that cannot be read as the operator's type (``NumericEquals`` on ``"abc"``) makes
  the condition false and adds a warning; so does a policy variable that cannot be resolved.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from .context import MODELLED_KEYS, ContextValue, RequestContext
from .matching import VARIABLE, Unresolved, arn_match, as_text, is_arn, resolve_variable, string_like


class Family(StrEnum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


class Qualifier(StrEnum):
    FOR_ANY_VALUE = "ForAnyValue"
    FOR_ALL_VALUES = "ForAllValues"


@dataclass(frozen=True)
class OperatorSpec:
    name: str
    family: Family
    test: str          # eq, eq_ci, like, lt, le, gt, ge, ip, arn, null
    negated: bool = False

    @property
    def variables(self) -> bool:
        """Whether policy variables are resolved in this operator's values (AWS: String, Arn, Bool)."""
        return self.family in (Family.STRING, Family.ARN, Family.BOOL)


_SPECS = [
    OperatorSpec("StringEquals", Family.STRING, "eq"),
    OperatorSpec("StringNotEquals", Family.STRING, "eq", True),
    OperatorSpec("StringEqualsIgnoreCase", Family.STRING, "eq_ci"),
    OperatorSpec("StringNotEqualsIgnoreCase", Family.STRING, "eq_ci", True),
    OperatorSpec("StringLike", Family.STRING, "like"),
    OperatorSpec("StringNotLike", Family.STRING, "like", True),
    OperatorSpec("NumericEquals", Family.NUMERIC, "eq"),
    OperatorSpec("NumericNotEquals", Family.NUMERIC, "eq", True),
    OperatorSpec("NumericLessThan", Family.NUMERIC, "lt"),
    OperatorSpec("NumericLessThanEquals", Family.NUMERIC, "le"),
    OperatorSpec("NumericGreaterThan", Family.NUMERIC, "gt"),
    OperatorSpec("NumericGreaterThanEquals", Family.NUMERIC, "ge"),
    OperatorSpec("DateEquals", Family.DATE, "eq"),
    OperatorSpec("DateNotEquals", Family.DATE, "eq", True),
    OperatorSpec("DateLessThan", Family.DATE, "lt"),
    OperatorSpec("DateLessThanEquals", Family.DATE, "le"),
    OperatorSpec("DateGreaterThan", Family.DATE, "gt"),
    OperatorSpec("DateGreaterThanEquals", Family.DATE, "ge"),
    OperatorSpec("Bool", Family.BOOL, "eq"),
    OperatorSpec("BinaryEquals", Family.BINARY, "eq"),
    OperatorSpec("IpAddress", Family.IP, "ip"),
    OperatorSpec("NotIpAddress", Family.IP, "ip", True),
    OperatorSpec("ArnEquals", Family.ARN, "arn"),
    OperatorSpec("ArnLike", Family.ARN, "arn"),
    OperatorSpec("ArnNotEquals", Family.ARN, "arn", True),
    OperatorSpec("ArnNotLike", Family.ARN, "arn", True),
    OperatorSpec("Null", Family.NULL, "null"),
]
#: every base operator, by name
OPERATORS: dict[str, OperatorSpec] = {s.name: s for s in _SPECS}
_BY_LOWER = {s.name.lower(): s for s in _SPECS}


@dataclass(frozen=True)
class Operator:
    """A parsed operator name: ``ForAllValues:StringNotLikeIfExists`` → qualifier, spec, if_exists."""

    spec: OperatorSpec
    qualifier: Qualifier | None = None
    if_exists: bool = False

    @property
    def name(self) -> str:
        q = f"{self.qualifier.value}:" if self.qualifier else ""
        return f"{q}{self.spec.name}{'IfExists' if self.if_exists else ''}"


def parse_operator(text: str) -> Operator:
    """Raise ValueError with a short reason for anything that is not an IAM condition operator."""
    qualifier = None
    base = text
    if ":" in text:
        q, _, base = text.partition(":")
        try:
            qualifier = next(x for x in Qualifier if x.value.lower() == q.lower())
        except StopIteration:
            raise ValueError(f"{q!r} is not a set qualifier (ForAnyValue or ForAllValues)") from None
    if_exists = base.lower().endswith("ifexists")
    if if_exists:
        base = base[: -len("IfExists")]
    spec = _BY_LOWER.get(base.lower())
    if spec is None:
        raise ValueError(f"{text!r} is not an IAM condition operator")
    if if_exists and spec.family is Family.NULL:
        raise ValueError("NullIfExists is not an IAM condition operator")
    return Operator(spec, qualifier, if_exists)


# --------------------------------------------------------------------------- policy values

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str) -> float:
    if not _NUMBER.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a number")
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"{text!r} is not a finite number")
    return x


def parse_date(text: str) -> datetime:
    """ISO 8601 (``2026-12-01``, ``2026-12-01T08:00:00Z``, with offset or fraction) or epoch seconds."""
    s = text.strip()
    if _NUMBER.fullmatch(s):
        try:
            return datetime.fromtimestamp(float(s), UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{text!r} is out of range as epoch seconds") from None
    try:
        t = datetime.fromisoformat(s[:-1] + "+00:00" if s[-1:] in ("Z", "z") else s)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or epoch seconds") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low not in ("true", "false"):
        raise ValueError(f"{text!r} is not true or false")
    return low == "true"


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or CIDR block") from None


def parse_binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{text!r} is not base64") from None


_VALIDATORS: dict[Family, Callable[[str], object]] = {
    Family.NUMERIC: parse_number, Family.DATE: parse_date, Family.BOOL: parse_bool,
    Family.NULL: parse_bool, Family.IP: parse_network, Family.BINARY: parse_binary,
}


def check_value(op: Operator, value: str) -> None:
    """Raise ValueError when a policy value cannot serve the operator (variables are checked later)."""
    if op.spec.variables and VARIABLE.search(value):
        return
    check = _VALIDATORS.get(op.spec.family)
    if check is not None:
        check(value)


# --------------------------------------------------------------------------- evaluation


class Uncomparable(Exception):
    """A context value that cannot be read as the operator's type."""


def _context_number(v: ContextValue) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise Uncomparable
    if isinstance(v, int | float):
        return float(v)
    try:
        return parse_number(v)
    except ValueError:
        raise Uncomparable from None


def _context_date(v: ContextValue) -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, (bool, tuple)):
        raise Uncomparable
    if isinstance(v, int | float):
        try:
            return datetime.fromtimestamp(v, UTC)
        except (OverflowError, OSError, ValueError):
            raise Uncomparable from None
    try:
        return parse_date(v)
    except ValueError:
        raise Uncomparable from None


def _text(v: ContextValue) -> str:
    t = as_text(v)
    if t is None:
        raise Uncomparable
    return t


def _ordered(test: str, a: float | datetime, b: float | datetime) -> bool:
    if test == "eq":
        return a == b
    if test == "lt":
        return a < b  # type: ignore[operator]
    if test == "le":
        return a <= b  # type: ignore[operator]
    if test == "gt":
        return a > b  # type: ignore[operator]
    return a >= b  # type: ignore[operator]


def _resolved(value: str, spec: OperatorSpec, ctx: RequestContext | None) -> str:
    """Resolve variables in a whole-value comparison (StringEquals, Bool ...)."""
    if ctx is None or not spec.variables or "${" not in value:
        return value
    return VARIABLE.sub(lambda m: resolve_variable(m.group(1), ctx), value)


def value_matches(spec: OperatorSpec, c: ContextValue, p: str, ctx: RequestContext | None) -> bool:
    """The positive form of the operator on one context value and one policy value.

    Raises :class:`Uncomparable` (context value of the wrong type) or
    :class:`~tokens.policy.matching.Unresolved` (a variable without value)."""
    fam, test = spec.family, spec.test
    if fam is Family.STRING:
        text = _text(c)
        if test == "like":
            return string_like(p, text, ctx if spec.variables else None)
        want = _resolved(p, spec, ctx)
        return want.lower() == text.lower() if test == "eq_ci" else want == text
    if fam is Family.NUMERIC:
        return _ordered(test, _context_number(c), parse_number(p))
    if fam is Family.DATE:
        return _ordered(test, _context_date(c), parse_date(p))
    if fam is Family.BOOL:
        if isinstance(c, bool):
            have = c
        else:
            try:
                have = parse_bool(_text(c))
            except ValueError:
                raise Uncomparable from None
        return have == parse_bool(_resolved(p, spec, ctx))
    if fam is Family.BINARY:
        try:
            return parse_binary(_text(c)) == parse_binary(p)
        except ValueError:
            raise Uncomparable from None
    if fam is Family.IP:
        try:
            addr = ipaddress.ip_address(_text(c).strip())
        except ValueError:
            raise Uncomparable from None
        net = parse_network(p)
        return addr.version == net.version and addr in net
    if fam is Family.ARN:
        text = _text(c)
        return is_arn(text) and arn_match(p, text, ctx)
    raise AssertionError(f"no comparison for {spec.name}")


@dataclass(frozen=True)
class Outcome:
    holds: bool
    warnings: tuple[str, ...] = ()


def _values_of(v: ContextValue | None) -> tuple[ContextValue, ...]:
    if v is None:
        return ()
    if isinstance(v, tuple):
        return v
    return (v,)


def evaluate_condition(op: Operator, key: str, values: tuple[str, ...], ctx: RequestContext,
                       variables: bool = True) -> Outcome:
    """Decide one ``op: {key: values}`` entry against the request context."""
    spec = op.spec
    raw = ctx.get(key)
    present = _values_of(raw)
    warnings: list[str] = []
    if raw is None and key.lower() not in MODELLED_KEYS:
        warnings.append(f"condition key {key} is not in the request context (treated as absent)")
    if spec.family is Family.NULL:
        want_absent = [parse_bool(v) for v in values]
        return Outcome(any(w == (not present) for w in want_absent), tuple(warnings))
    var_ctx = ctx if variables else None

    def one(c: ContextValue) -> bool:
        """Does the context value match any policy value (positive form)?"""
        hit = False
        for p in values:
            try:
                if value_matches(spec, c, p, var_ctx):
                    hit = True
                    break
            except Unresolved as u:
                if u.name.lower() not in MODELLED_KEYS or u.why != "is not in the request context":
                    warnings.append(f"policy variable ${{{u.name}}} {u.why}: the value {p!r} cannot match")
            except ValueError as e:  # a policy value that became invalid after substitution
                warnings.append(f"{op.name} {key}: {e}")
        return hit

    try:
        if not present:
            if op.qualifier is Qualifier.FOR_ALL_VALUES or op.if_exists:
                holds = True
            elif op.qualifier is Qualifier.FOR_ANY_VALUE:
                holds = False
            else:
                holds = spec.negated
        elif op.qualifier is Qualifier.FOR_ALL_VALUES:
            holds = all(one(c) != spec.negated for c in present)
        elif op.qualifier is Qualifier.FOR_ANY_VALUE:
            holds = any(one(c) != spec.negated for c in present)
        else:
            hit = any(one(c) for c in present)
            holds = hit != spec.negated
    except Uncomparable:
        warnings.append(f"{op.name}: the value of {key} ({raw!r}) is not a {spec.family.value} value; "
                        "the condition does not hold")
        holds = False
    return Outcome(holds, tuple(warnings))


__all__ = ["OPERATORS", "Family", "Operator", "OperatorSpec", "Outcome", "Qualifier", "check_value",
           "evaluate_condition", "parse_bool", "parse_date", "parse_network", "parse_number",
           "parse_operator", "value_matches"]
