"""The one place the SQL stores learn their credential columns from: the fields of
:class:`~tokens.verifier.model.Credential` and a small type map.

From it each SQL store derives its column list, the column part of its DDL (and the ``ALTER
TABLE ... ADD COLUMN`` that brings an older table up to date), and the row <-> record mapping.
A field added to ``Credential`` (with a default) therefore becomes a column on the next open of
any existing database, with no store code to touch.

The seed is stored sealed (see :mod:`tokens.keyring`): column ``secret`` holds the sealed bytes
and the extra column ``secret_key`` the id of the key that sealed it (``''`` = plaintext).

The throttle arithmetic of :meth:`Policy.after_failure` is also written here once as an SQL
expression, so the stores can reserve an attempt (count it as a failure *before* the code is
looked at) in one conditional UPDATE.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..keyring import Keyring
from ..otp import Algorithm
from .model import Credential, Kind, Status
from .policy import Policy

__all__ = ["COLUMNS", "PG", "SECRET_KEY", "SQLITE", "Column", "Dialect", "from_row", "to_row"]

SECRET_KEY = "secret_key"  # the extra column: id of the key that sealed ``secret``


@dataclass(frozen=True)
class Dialect:
    name: str
    types: dict[str, str]  # python type name -> SQL type
    param: str  # placeholder style: "?" or "%s"
    true: str
    least: str  # two-argument minimum function


SQLITE = Dialect("sqlite", {"str": "TEXT", "bytes": "BLOB", "int": "INTEGER", "float": "REAL",
                            "bool": "INTEGER", "enum": "TEXT"}, "?", "1", "min")
PG = Dialect("postgresql", {"str": "text", "bytes": "bytea", "int": "bigint", "float": "double precision",
                            "bool": "boolean", "enum": "text"}, "%s", "true", "least")

_ENUMS: dict[str, type[enum.Enum]] = {"Kind": Kind, "Status": Status, "Algorithm": Algorithm}
_CHECKED = {"Kind", "Status"}  # enums whose values the table checks


@dataclass(frozen=True)
class Column:
    name: str
    base: str  # "str", "bytes", "int", "float", "bool" or "enum"
    enum_type: type[enum.Enum] | None
    nullable: bool
    default: Any  # dataclasses.MISSING when the field has none

    def ddl(self, d: Dialect) -> str:
        parts = [self.name, d.types[self.base]]
        if not self.nullable:
            parts.append("NOT NULL")
        if self.default is not dataclasses.MISSING and self.default is not None:
            parts.append(f"DEFAULT {self.literal(d)}")
        if self.enum_type is not None and self.enum_type.__name__ in _CHECKED:
            values = ", ".join(f"'{m.value}'" for m in self.enum_type)
            parts.append(f"CHECK ({self.name} IN ({values}))")
        return " ".join(parts)

    def literal(self, d: Dialect) -> str:
        v = self.default
        if isinstance(v, enum.Enum):
            v = v.value
        if isinstance(v, bool):
            return d.true if v else ("0" if d.name == "sqlite" else "false")
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        if isinstance(v, int | float):
            return repr(v)
        raise TypeError(f"no SQL literal for the default of {self.name}: {v!r}")


def _column(f: dataclasses.Field[Any]) -> Column:
    t = str(f.type).replace(" ", "")
    nullable = t.endswith("|None")
    name = t.removesuffix("|None")
    enum_type = _ENUMS.get(name)
    base = "enum" if enum_type is not None else name
    if base not in SQLITE.types:
        raise TypeError(f"Credential.{f.name}: no column type for {f.type!r}; "
                        "extend the type map in tokens/verifier/columns.py")
    return Column(f.name, base, enum_type, nullable, f.default)


COLUMNS: tuple[Column, ...] = (*(_column(f) for f in dataclasses.fields(Credential)),
                               Column(SECRET_KEY, "str", None, False, ""))
NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
_SECRET = NAMES.index("secret")
_SERIAL = NAMES.index("serial")
_KEY = NAMES.index(SECRET_KEY)


def column_list(prefix: str = "") -> str:
    return ", ".join(prefix + n for n in NAMES)


def table_ddl(d: Dialect) -> str:
    """``CREATE TABLE credentials (...)`` at the newest layout."""
    cols = ",\n    ".join(c.ddl(d) for c in COLUMNS)
    return f"CREATE TABLE credentials (\n    {cols},\n    PRIMARY KEY (serial)\n)"


def missing_columns(existing: Sequence[str], d: Dialect) -> list[str]:
    """``ALTER TABLE`` statements adding the fields an older table lacks (all have defaults)."""
    have = {n.lower() for n in existing}
    out = []
    for c in COLUMNS:
        if c.name not in have:
            if c.default is dataclasses.MISSING:
                raise TypeError(f"Credential.{c.name} has no default: an existing table cannot gain it")
            out.append(f"ALTER TABLE credentials ADD COLUMN {c.ddl(d)}")
    return out


def _decode_expr(i: int, c: Column) -> str:
    v = f"r[{i}]"
    # enums: a dict lookup of the stored value (an Enum call costs several times more); anything
    # else goes through the Enum call, which raises for a bad value as before
    conv = f"(_M_{c.name}.get({v}) or _E_{c.name}({v}))" if c.enum_type is not None else f"{c.base}({v})"
    return f"None if {v} is None else {conv}" if c.nullable else conv


def _compile_from_row() -> Callable[[Sequence[Any], bytes], Credential]:
    """The record of ``r`` (field i decoded from ``r[i]``) as one generated function: the row
    mapping runs on every verification, and a loop of per-field converters costs several times
    more.  Generated from :data:`COLUMNS` like dataclasses generates ``__init__``."""
    ns: dict[str, Any] = {"Credential": Credential, **{f"_E_{c.name}": c.enum_type for c in COLUMNS
                                                       if c.enum_type is not None}}
    ns.update({f"_M_{c.name}": {m.value: m for m in c.enum_type} for c in COLUMNS if c.enum_type is not None})
    # the record's __dict__ set in one go: a frozen dataclass's __init__ assigns its 24 fields
    # through object.__setattr__ one by one (twice the cost); Credential has no __post_init__
    if hasattr(Credential, "__post_init__"):
        raise TypeError("Credential gained a __post_init__: build rows through Credential(...) again")
    ns.update(_new=object.__new__, _set=object.__setattr__)
    args = ",\n        ".join(f"{c.name!r}: " + ("secret" if c.name == "secret" else _decode_expr(i, c))
                               for i, c in enumerate(COLUMNS[:-1]))
    exec("def _from_row(r, secret):\n    c = _new(Credential)\n"
         f"    _set(c, '__dict__', {{\n        {args}}})\n    return c\n", ns)
    fn: Callable[[Sequence[Any], bytes], Credential] = ns["_from_row"]
    return fn


_from_row = _compile_from_row()


def from_row(row: Sequence[Any], keyring: Callable[[], Keyring]) -> Credential:
    """The record of a row in :data:`NAMES` order; the secret is unsealed."""
    ident, sealed = row[_KEY], bytes(row[_SECRET])
    return _from_row(row, keyring().open(str(ident), sealed, str(row[_SERIAL])) if ident else sealed)


def to_row(cred: Credential, keyring: Keyring, d: Dialect) -> tuple[Any, ...]:
    """The row of a record in :data:`NAMES` order, with the secret sealed by ``keyring``."""
    out: list[Any] = []
    for c in COLUMNS[:-1]:
        v = getattr(cred, c.name)
        if isinstance(v, enum.Enum):
            v = v.value
        elif isinstance(v, bool) and d.name == "sqlite":
            v = int(v)
        out.append(v)
    ident, sealed = keyring.seal(cred.secret, cred.serial)
    out[_SECRET] = sealed
    out.append(ident)
    return tuple(out)


# ------------------------------------------------------------------ the throttle in SQL
def reserve_sql(d: Dialect, policy: Policy, at: str, status: Status = Status.ACTIVE) -> tuple[str, str]:
    """(SET clause, WHERE gate) of the conditional UPDATE that reserves one attempt.

    The gate admits an attempt only while the credential has ``status`` (active for verify and
    resync, pending for enable), is not locked, not backing off and under the lockout budget; the
    SET counts it as a failure in advance (``last_failure_at`` is left alone: a reservation that
    turns out a success must not leave its time there; ``note_failure`` sets it for one that
    does not)."""
    n = "(failures + 1)"
    k, m = policy.throttle_after, policy.lockout_after
    if k:
        # base * 2**min(n-k, 60), capped; 1 << x is an integer power of two in both dialects
        shift = f"CAST({d.least}({n} - {k}, 60) AS {'INTEGER' if d.name == 'sqlite' else 'integer'})"
        pow2 = f"(CAST(1 AS {'INTEGER' if d.name == 'sqlite' else 'bigint'}) << {shift})"
        until = (f"CASE WHEN {n} >= {k} THEN {at} + {d.least}({float(policy.backoff_max)!r}, "
                 f"{float(policy.backoff_base)!r} * {pow2}) ELSE 0 END")
    else:
        until = "0"
    locked = f"CASE WHEN {n} >= {m} THEN {d.true} ELSE locked END" if m else "locked"
    set_ = (f"failures = failures + 1, updated_at = {at}, "
            f"throttle_until = {until}, locked = {locked}")
    false = "0" if d.name == "sqlite" else "false"
    gate = f"status = '{Status(status).value}' AND locked = {false} AND throttle_until <= {at}"
    if m:
        gate += f" AND failures < {m}"
    return set_, gate


def release_set(d: Dialect, policy: Policy) -> str:
    """The SET part that gives a reservation back (a replayed code: not counted as a failure)."""
    k, m = policy.throttle_after, policy.lockout_after
    n = "(failures - 1)"
    throttle = f"CASE WHEN {n} < {k} THEN 0 ELSE throttle_until END" if k else "0"
    false = "0" if d.name == "sqlite" else "false"
    locked = f"CASE WHEN {n} < {m} THEN {false} ELSE locked END" if m else "locked"
    return f"failures = {n}, throttle_until = {throttle}, locked = {locked}"
