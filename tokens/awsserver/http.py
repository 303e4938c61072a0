"""The transport record: one HTTP request as received, and the capped incremental body reader.

Everything above this module works on :class:`HttpRequest` (no starlette types), so the same
pipeline serves the ASGI app, tests and the fuzz suite.  The body is read chunk by chunk and
refused as soon as it passes the cap: a 200 MB upload never lands in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .errors import AwsApiFault

DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # as sent, still percent-encoded
    query: str  # raw query string, no '?'
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    secure: bool = False

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


def too_large(limit: int) -> AwsApiFault:
    return AwsApiFault("RequestEntityTooLarge",
                       f"Request body must be less than or equal to {limit} bytes", 413)


async def read_capped(chunks: AsyncIterator[bytes], limit: int, declared: str | None) -> bytes:
    """Join the body's chunks, refusing (413) a declared or actual length over ``limit``."""
    if declared is not None:
        try:
            if int(declared) > limit:
                raise too_large(limit)
        except ValueError:
            raise AwsApiFault("InvalidRequest", "Content-Length is not a number", 400) from None
    buf = bytearray()
    async for chunk in chunks:
        buf += chunk
        if len(buf) > limit:
            raise too_large(limit)
    return bytes(buf)
