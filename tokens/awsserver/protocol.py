"""The AWS query protocol: form-encoded requests in, XML documents out (as botocore parses them).

Request: ``POST /`` with ``Action=...&Version=...&Param=...`` (or the same in the query string),
signed with SigV4.  The signature is accepted, not checked; the ``Credential=AKID/date/region/
service/aws4_request`` scope is read for the caller's access key id and the target service.

Response: ``<{Action}Response xmlns=NS><{Action}Result>...</{Action}Result><ResponseMetadata>
<RequestId>...</RequestId></ResponseMetadata></{Action}Response>``; lists are ``<member>``
elements, blobs base64, timestamps ISO 8601 UTC.  Errors: ``<ErrorResponse><Error><Type>
<Code><Message></Error><RequestId></ErrorResponse>``.
"""

from __future__ import annotations

import base64
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}
STS_ACTIONS = frozenset({"GetSessionToken", "GetCallerIdentity", "AssumeRole", "GetAccessKeyInfo",
                         "DecodeAuthorizationMessage", "GetFederationToken"})

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/,\s]*/[^/,\s]*/([^/,\s]+)/aws4_request")


class Timestamp(float):
    """Seconds since the epoch, serialised as ISO 8601 (``2026-01-01T00:00:00Z``)."""

    def iso(self) -> str:
        return datetime.fromtimestamp(float(self), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class QueryRequest:
    action: str
    version: str
    params: dict[str, str]
    service: str  # "iam" or "sts"
    access_key_id: str | None  # from the SigV4 credential scope (None when unsigned)
    request_id: str

    def get(self, name: str, default: str | None = None) -> str | None:
        v = self.params.get(name)
        return default if v is None or v == "" else v


def parse_request(body: bytes, query: str, headers: Mapping[str, str]) -> QueryRequest:
    """Decode one query-protocol request (body wins over the query string)."""
    params: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    auth = headers.get("authorization", "")
    if "Credential=" not in auth and "X-Amz-Credential" in params:  # a presigned request
        auth = "Credential=" + params["X-Amz-Credential"]
    m = _CREDENTIAL.search(auth)
    key, scope = (m.group(1), m.group(2).lower()) if m else (None, None)
    action = params.pop("Action", "")
    version = params.pop("Version", "")
    for k in [k for k in params if k.startswith("X-Amz-")]:
        params.pop(k)
    service = scope if scope in NAMESPACES else ("sts" if action in STS_ACTIONS else "iam")
    return QueryRequest(action=action, version=version, params=params, service=service,
                        access_key_id=key, request_id=str(uuid.uuid4()))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Timestamp):
        return value.iso()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _fill(parent: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if v is not None:
                _fill(ET.SubElement(parent, str(k)), v)
    elif isinstance(value, list | tuple):
        for item in value:
            _fill(ET.SubElement(parent, "member"), item)
    else:
        parent.text = _text(value)


def _document(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def render_result(req: QueryRequest, result: Mapping[str, Any] | None) -> bytes:
    """``<ActionResponse>`` with the result members (None: an action without output)."""
    root = ET.Element(f"{req.action}Response", xmlns=NAMESPACES[req.service])
    if result is not None:
        _fill(ET.SubElement(root, f"{req.action}Result"), result)
    meta = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(meta, "RequestId").text = req.request_id
    return _document(root)


def render_error(service: str, code: str, message: str, request_id: str, fault: str = "Sender") -> bytes:
    root = ET.Element("ErrorResponse", xmlns=NAMESPACES.get(service, IAM_NS))
    err = ET.SubElement(root, "Error")
    ET.SubElement(err, "Type").text = fault
    ET.SubElement(err, "Code").text = code
    ET.SubElement(err, "Message").text = message
    ET.SubElement(root, "RequestId").text = request_id
    return _document(root)
