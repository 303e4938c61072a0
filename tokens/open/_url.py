"""Device URL parsing: split a URL into scheme / host / port / path / query, and read typed query
parameters with one-line errors that name the form the handler expects.

Nothing here opens a device; the scheme handlers in this package do.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import InvalidURIError


@dataclass(frozen=True)
class DeviceURL:
    """A parsed device URL.  ``form`` is set by the handler reading it, for error messages."""

    raw: str
    scheme: str
    netloc: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    form: str = ""

    @classmethod
    def parse(cls, url: str) -> Self:
        if not isinstance(url, str) or not url.strip():
            raise InvalidURIError("empty device URL")
        url = url.strip()
        if any(c.isspace() for c in url):
            raise InvalidURIError(f"device URL {url!r} contains whitespace")
        if url.startswith("/"):  # a bare device path: /dev/ttyACM0
            return cls(raw=url, scheme="serial", netloc="", path=url)
        if ":" not in url:
            raise InvalidURIError(f"{url!r} is not a device URL (no scheme; e.g. virtual:NAME)")
        try:
            parts = urlsplit(url)
        except ValueError as e:
            raise InvalidURIError(f"device URL {url!r} does not parse: {e}") from None
        if parts.fragment:
            raise InvalidURIError(f"device URL {url!r} must not have a #fragment")
        query: dict[str, str] = {}
        try:
            pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        except ValueError:
            raise InvalidURIError(f"device URL {url!r} has a malformed query string") from None
        for k, v in pairs:
            if k in query:
                raise InvalidURIError(f"device URL parameter {k!r} given twice")
            query[k] = v
        return cls(raw=url, scheme=parts.scheme.lower(), netloc=parts.netloc, path=unquote(parts.path),
                   query=query)

    # -- helpers for handlers
    def expecting(self, form: str) -> DeviceURL:
        return DeviceURL(self.raw, self.scheme, self.netloc, self.path, dict(self.query), form)

    def fail(self, why: str) -> InvalidURIError:
        hint = f"; expected {self.form}" if self.form else ""
        return InvalidURIError(f"{self.redacted()}: {why}{hint}")

    def redacted(self) -> str:
        """The URL with a secret= value hidden, for error messages."""
        if "secret" not in self.query:
            return self.raw
        head, _, _ = self.raw.partition("?")
        q = "&".join(f"{k}=<hidden>" if k == "secret" else f"{k}={v}" for k, v in self.query.items())
        return f"{head}?{q}"

    def allow(self, names: Collection[str]) -> None:
        """Reject query parameters the handler does not know."""
        unknown = sorted(set(self.query) - set(names))
        if unknown:
            known = ", ".join(sorted(names)) or "none"
            raise self.fail(f"unknown parameter(s) {', '.join(unknown)} (known: {known})")

    def no_query(self) -> None:
        self.allow(())

    def name(self) -> str:
        """The opaque part of ``scheme:NAME`` (no authority, no slashes)."""
        if self.netloc or "/" in self.path:
            raise self.fail("the name goes right after the colon")
        if not self.path:
            raise self.fail("missing name")
        return self.path

    def host_port(self, default_host: str | None = None) -> tuple[str, int]:
        if self.path not in ("", "/"):
            raise self.fail(f"unexpected path {self.path!r}")
        try:
            host, port = self._split_netloc()
        except ValueError as e:
            raise self.fail(str(e)) from None
        host = host or (default_host or "")
        if not host:
            raise self.fail("missing host")
        if port is None:
            raise self.fail("missing port")
        return host, port

    def _split_netloc(self) -> tuple[str, int | None]:
        parts = urlsplit(f"//{self.netloc}")
        if parts.username or parts.password:
            raise ValueError("user information is not allowed")
        port = parts.port  # raises ValueError when out of range or not a number
        if port == 0:
            raise ValueError("port 0 is not a port")
        return parts.hostname or "", port

    def text(self, key: str, default: str | None = None) -> str | None:
        v = self.query.get(key)
        return default if v is None else v

    def integer(self, key: str, default: int, lo: int | None = None, hi: int | None = None) -> int:
        v = self.query.get(key)
        if v is None:
            return default
        try:
            n = int(v)
        except ValueError:
            raise self.fail(f"{key} must be a whole number, not {v!r}") from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise self.fail(f"{key} must be between {lo} and {hi}")
        return n

    def number(self, key: str, default: float) -> float:
        v = self.query.get(key)
        if v is None:
            return default
        try:
            x = float(v)
        except ValueError:
            raise self.fail(f"{key} must be a number, not {v!r}") from None
        if not math.isfinite(x):
            raise self.fail(f"{key} must be a finite number")
        return x

    def flag(self, key: str, default: bool = False) -> bool:
        v = self.query.get(key)
        if v is None:
            return default
        low = v.lower()
        if low in ("1", "true", "yes", "on", ""):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise self.fail(f"{key} must be true or false, not {v!r}")
