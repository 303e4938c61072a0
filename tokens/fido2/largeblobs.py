"""authenticatorLargeBlobs (CTAP 2.1 §6.10): read and write the serialized large-blob array in
fragments.  A write is staged until the declared length has arrived and its trailing
LEFT(SHA-256(data), 16) checks out; only then does it replace the stored array."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._params import optional, required
from .clientpin import Perm
from .errors import ERR, CtapStatus

if TYPE_CHECKING:
    from .core import Authenticator

MAX_LARGE_BLOB = 4096


class LargeBlobs:
    def __init__(self, a: Authenticator) -> None:
        self.a = a
        self.abort()

    @property
    def max_fragment(self) -> int:
        from .core import MAX_MSG_SIZE

        return MAX_MSG_SIZE - 64

    def abort(self) -> None:
        self._buffer = b""
        self._expected = 0
        self._next = 0

    def handle(self, req: Mapping[int, Any]) -> dict[int, Any]:
        get: int | None = optional(req, 1, int, "get")
        data: bytes | None = optional(req, 2, bytes, "set")
        offset: int = required(req, 3, int, "offset")
        length: int | None = optional(req, 4, int, "length")
        if (get is None) == (data is None):
            raise CtapStatus(ERR.INVALID_PARAMETER, "exactly one of get / set")
        blob = self.a.state.large_blob
        if get is not None:
            if length is not None:
                raise CtapStatus(ERR.INVALID_PARAMETER, "length is only for set")
            if get > self.max_fragment or get < 0:
                raise CtapStatus(ERR.INVALID_LENGTH)
            if offset > len(blob) or offset < 0:
                raise CtapStatus(ERR.INVALID_PARAMETER, "offset beyond the array")
            return {1: blob[offset:offset + get]}
        assert data is not None
        if len(data) > self.max_fragment:
            raise CtapStatus(ERR.INVALID_LENGTH)
        if offset == 0:
            if length is None:
                raise CtapStatus(ERR.INVALID_PARAMETER, "length is required at offset 0")
            if length > MAX_LARGE_BLOB:
                raise CtapStatus(ERR.LARGE_BLOB_STORAGE_FULL)
            if length < 17:
                raise CtapStatus(ERR.INVALID_PARAMETER, "array too short")
            self._buffer, self._expected, self._next = b"", length, 0
        elif length is not None:
            raise CtapStatus(ERR.INVALID_PARAMETER, "length only at offset 0")
        if offset != self._next or not self._expected:
            raise CtapStatus(ERR.INVALID_SEQ)
        if self.a.protected or req.get(5) is not None:
            param = req.get(5)
            if param is None:
                raise CtapStatus(ERR.PUAT_REQUIRED)
            msg = b"\xff" * 32 + b"\x0c\x00" + struct.pack("<I", offset) + hashlib.sha256(data).digest()
            self.a.pin.verify_token(req.get(6), param, msg, Perm.LBW, None)
        if offset + len(data) > self._expected:
            raise CtapStatus(ERR.INVALID_PARAMETER, "more data than declared")
        self._buffer += data
        self._next += len(data)
        if self._next == self._expected:
            body, check = self._buffer[:-16], self._buffer[-16:]
            self.abort()
            if hashlib.sha256(body).digest()[:16] != check:
                raise CtapStatus(ERR.INTEGRITY_FAILURE)
            self.a.state.large_blob = body + check
            self.a.dirty = True
        return {}
