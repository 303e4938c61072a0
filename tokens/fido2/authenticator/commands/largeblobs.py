"""authenticatorLargeBlobs (CTAP 2.1 §6.10): read and write the serialized large-blob array in
fragments.  A write is staged until the declared length has arrived and its trailing
LEFT(SHA-256(data), 16) checks out; only then does it replace the stored array."""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Mapping
from typing import Any

from fido2.ctap2.base import Ctap2

from ...errors import ERR, CtapStatus
from ..checks import UserChecks
from ..limits import LARGE_BLOB_CHECK, LARGE_BLOB_FRAGMENT_OVERHEAD, MAX_LARGE_BLOB, MAX_MSG_SIZE
from ..params import optional, required
from ..pinauth import Permission, PinUvAuth
from ..state import AuthenticatorState
from ..store import CredentialStore
from ..user import KeepAlive
from ..wire import LargeBlobsParam as P
from ..wire import LargeBlobsResult

# pinUvAuthParam message: 32 x 0xff || h'0c00' || uint32LE(offset) || SHA-256(fragment)
_MAC_PREFIX = b"\xff" * 32 + bytes([Ctap2.CMD.LARGE_BLOBS, 0x00])


class LargeBlobs:
    def __init__(self, state: AuthenticatorState, store: CredentialStore, checks: UserChecks, pin: PinUvAuth,
                 max_msg_size: int = MAX_MSG_SIZE, max_large_blob: int = MAX_LARGE_BLOB) -> None:
        self.state, self.store, self.checks, self.pin = state, store, checks, pin
        self.max_fragment = max_msg_size - LARGE_BLOB_FRAGMENT_OVERHEAD
        self.max_large_blob = max_large_blob
        self.abort()

    def abort(self) -> None:
        self._buffer = b""
        self._expected = 0
        self._next = 0

    def __call__(self, req: Mapping[int, Any], event: threading.Event | None = None,
                 keepalive: KeepAlive | None = None) -> dict[int, Any]:
        get: int | None = optional(req, P.GET, int, "get")
        data: bytes | None = optional(req, P.SET, bytes, "set")
        offset: int = required(req, P.OFFSET, int, "offset")
        length: int | None = optional(req, P.LENGTH, int, "length")
        if (get is None) == (data is None):
            raise CtapStatus(ERR.INVALID_PARAMETER, "exactly one of get / set")
        blob = self.state.large_blob
        if get is not None:
            if length is not None:
                raise CtapStatus(ERR.INVALID_PARAMETER, "length is only for set")
            if get > self.max_fragment or get < 0:
                raise CtapStatus(ERR.INVALID_LENGTH)
            if offset > len(blob) or offset < 0:
                raise CtapStatus(ERR.INVALID_PARAMETER, "offset beyond the array")
            return {LargeBlobsResult.CONFIG: blob[offset:offset + get]}
        assert data is not None
        if len(data) > self.max_fragment:
            raise CtapStatus(ERR.INVALID_LENGTH)
        if offset == 0:
            if length is None:
                raise CtapStatus(ERR.INVALID_PARAMETER, "length is required at offset 0")
            if length > self.max_large_blob:
                raise CtapStatus(ERR.LARGE_BLOB_STORAGE_FULL)
            if length < LARGE_BLOB_CHECK + 1:
                raise CtapStatus(ERR.INVALID_PARAMETER, "array too short")
            self._buffer, self._expected, self._next = b"", length, 0
        elif length is not None:
            raise CtapStatus(ERR.INVALID_PARAMETER, "length only at offset 0")
        if offset != self._next or not self._expected:
            raise CtapStatus(ERR.INVALID_SEQ)
        param = req.get(P.PIN_UV_AUTH_PARAM)
        if self.checks.protected or param is not None:
            if param is None:
                raise CtapStatus(ERR.PUAT_REQUIRED)
            msg = _MAC_PREFIX + struct.pack("<I", offset) + hashlib.sha256(data).digest()
            self.pin.verify_token(req.get(P.PIN_UV_AUTH_PROTOCOL), param, msg, Permission.LARGE_BLOB_WRITE,
                                  None)
        if offset + len(data) > self._expected:
            raise CtapStatus(ERR.INVALID_PARAMETER, "more data than declared")
        self._buffer += data
        self._next += len(data)
        if self._next == self._expected:
            body, check = self._buffer[:-LARGE_BLOB_CHECK], self._buffer[-LARGE_BLOB_CHECK:]
            self.abort()
            if hashlib.sha256(body).digest()[:LARGE_BLOB_CHECK] != check:
                raise CtapStatus(ERR.INTEGRITY_FAILURE)
            self.state.large_blob = body + check
            self.store.mark_dirty()
        return {}
