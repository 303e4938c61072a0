"""Pattern matching shared by statements and conditions: wildcards, ARN segments, policy variables.

* Actions: ``service:action`` globs with ``*`` and ``?``, case-insensitive.
* Resources and ARN conditions: case-sensitive globs matched segment by segment: the first five
  colon-separated segments (``arn:partition:service:region:account``) each match on their own — a
  wildcard never spans a colon there — and the resource part (which may contain colons) matches last.
* Policy variables ``${key}``, ``${key, 'default'}``, ``${*}`` / ``${?}`` / ``${$}`` (literal
  ``*`` / ``?`` / ``$``), resolved from any single-valued context key (names case-insensitive), only
  in version 2012-10-17 documents.  A variable whose key is absent and has no default cannot match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache

from .context import ContextValue, RequestContext, iso

VARIABLE = re.compile(r"\$\{([^}]*)\}")


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def glob_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """``*`` any run of characters, ``?`` one character; everything else literal."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == text.lower() if ignore_case else pattern == text
    return _glob(pattern, ignore_case).fullmatch(text) is not None


def action_matches(pattern: str, action: str) -> bool:
    """``iam:*MFA*`` style match; service and action names are case-insensitive."""
    return glob_match(pattern, action, ignore_case=True)


def as_text(v: ContextValue) -> str | None:
    """A single-valued context value as IAM prints it (``true``, ``3600``, ISO time); None for a list."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, str):
        return v
    return None


class Unresolved(Exception):
    """A policy variable that has no value (absent key without default, or a multivalued key)."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(name)
        self.name = name
        self.why = why


def resolve_variable(body: str, ctx: RequestContext) -> str:
    """The text of ``${body}``; raises :class:`Unresolved`."""
    name, comma, default = body.partition(",")
    name = name.strip()
    if name in ("*", "?", "$"):
        return name
    v = ctx.get(name)
    if v is not None:
        text = as_text(v)
        if text is None:
            raise Unresolved(name, "is multivalued")
        return text
    d = default.strip()
    if comma and len(d) >= 2 and d[0] == d[-1] == "'":
        return d[1:-1]
    raise Unresolved(name, "is not in the request context")


def segments(pattern: str, ctx: RequestContext | None) -> Iterator[tuple[str, bool]]:
    """Split a pattern into (text, literal) pieces: resolved variables are literal text."""
    pos = 0
    if ctx is not None:
        for m in VARIABLE.finditer(pattern):
            if m.start() > pos:
                yield pattern[pos:m.start()], False
            yield resolve_variable(m.group(1), ctx), True
            pos = m.end()
    if pos < len(pattern):
        yield pattern[pos:], False


def substitute(pattern: str, ctx: RequestContext | None) -> str | re.Pattern[str]:
    """The pattern with variables resolved: a plain string when it has no wildcard left, else a regex."""
    pieces = list(segments(pattern, ctx))
    if all(lit or ("*" not in t and "?" not in t) for t, lit in pieces):
        return "".join(t for t, _ in pieces)
    rx = "".join(re.escape(t) if lit else _glob(t, False).pattern for t, lit in pieces)
    return re.compile(rx, re.DOTALL)


def _split_arn(text: str) -> list[str]:
    """Split on the first five colons that are not inside a ``${...}`` variable."""
    if "${" not in text:
        return text.split(":", 5)
    parts: list[str] = []
    depth = start = 0
    for i, c in enumerate(text):
        if c == "{" and i and text[i - 1] == "$":
            depth += 1
        elif c == "}" and depth:
            depth -= 1
        elif c == ":" and not depth and len(parts) < 5:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _piece_match(pattern: str | re.Pattern[str], text: str, ignore_case: bool = False) -> bool:
    if isinstance(pattern, re.Pattern):
        flags = pattern.flags | (re.IGNORECASE if ignore_case else 0)
        return re.compile(pattern.pattern, flags).fullmatch(text) is not None
    return pattern.lower() == text.lower() if ignore_case else pattern == text


def string_like(pattern: str, text: str, ctx: RequestContext | None) -> bool:
    """StringLike: the whole value against the glob, variables literal (raises :class:`Unresolved`)."""
    return _piece_match(substitute(pattern, ctx), text)


def arn_match(pattern: str, arn: str, ctx: RequestContext | None) -> bool:
    """Resource / ArnLike match with ARN segment semantics (case-sensitive; raises :class:`Unresolved`)."""
    if pattern == "*":
        return True
    p_parts = _split_arn(pattern)
    a_parts = _split_arn(arn)
    if len(p_parts) < 6 or p_parts[0] != "arn" or len(a_parts) < 6:
        return _piece_match(substitute(pattern, ctx), arn)
    return all(_piece_match(substitute(p, ctx), a) for p, a in zip(p_parts, a_parts, strict=True))


def resource_matches(pattern: str, resource: str, ctx: RequestContext | None) -> bool:
    """:func:`arn_match`, with an unresolvable variable meaning no match."""
    try:
        return arn_match(pattern, resource, ctx)
    except Unresolved:
        return False


def is_arn(text: str) -> bool:
    parts = _split_arn(text)
    return len(parts) == 6 and parts[0] == "arn" and bool(parts[1]) and bool(parts[2])


__all__ = [
    "VARIABLE",
    "Unresolved",
    "action_matches",
    "arn_match",
    "as_text",
    "glob_match",
    "is_arn",
    "resolve_variable",
    "resource_matches",
    "string_like",
    "substitute",
]
