"""Typed access to CTAP2 request parameters, raising the CTAP status a bad parameter deserves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ERR, CtapStatus


def required(req: Mapping[Any, Any], key: Any, kind: type, name: str) -> Any:
    v = req.get(key)
    if v is None:
        raise CtapStatus(ERR.MISSING_PARAMETER, name)
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, name)
    return v


def optional(req: Mapping[Any, Any], key: Any, kind: type, name: str) -> Any:
    v = req.get(key)
    if v is not None and (not isinstance(v, kind) or (kind is int and isinstance(v, bool))):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, name)
    return v


def options(req: Mapping[Any, Any], key: int) -> dict[str, bool]:
    opts = optional(req, key, dict, "options") or {}
    for k, v in opts.items():
        if not isinstance(k, str) or not isinstance(v, bool):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "options")
    return dict(opts)


def descriptors(req: Mapping[Any, Any], key: int, name: str) -> list[bytes]:
    """Credential IDs of a PublicKeyCredentialDescriptor list (entries of other types are skipped)."""
    items = optional(req, key, list, name) or []
    ids: list[bytes] = []
    for d in items:
        if not isinstance(d, dict):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, name)
        cid, typ = d.get("id"), d.get("type")
        if cid is None or typ is None:
            raise CtapStatus(ERR.MISSING_PARAMETER, f"{name} entry needs id and type")
        if not isinstance(cid, bytes) or not isinstance(typ, str):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, name)
        if typ == "public-key":
            ids.append(cid)
    return ids
