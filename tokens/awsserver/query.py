"""The AWS query protocol (IAM, STS): form-encoded parameters in, XML documents out.

Request: ``Action=...&Version=...&Param=...`` in the body (or the query string).  Response:
``<{Action}Response xmlns=NS><{Action}Result>...</{Action}Result><ResponseMetadata><RequestId>
...</RequestId></ResponseMetadata></{Action}Response>``; lists are ``<member>`` elements, blobs
base64, timestamps ISO 8601 UTC.  Errors: ``<ErrorResponse><Error><Type><Code><Message></Error>
<RequestId></ErrorResponse>``.  Text that XML 1.0 cannot carry is never written: inputs are
validated before they are stored, and rendering replaces any such character as a last defence.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
NAMESPACES = {"iam": IAM_NS, "sts": STS_NS}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
    request_id: str

    def get(self, name: str, default: str | None = None) -> str | None:
        v = self.params.get(name)
        return default if v is None or v == "" else v

    def members(self, name: str) -> list[str]:
        """``Name.member.1``, ``Name.member.2`` ... in order."""
        out: list[tuple[int, str]] = []
        prefix = f"{name}.member."
        for k, v in self.params.items():
            if k.startswith(prefix) and k[len(prefix):].isascii() and k[len(prefix):].isdigit():
                out.append((int(k[len(prefix):]), v))
        return [v for _, v in sorted(out)]


def decode_params(body: bytes, query: str) -> dict[str, str]:
    """The request's parameters (body wins over the query string); SigV4 query parameters dropped."""
    params: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for k in [k for k in params if k.startswith("X-Amz-")]:
        params.pop(k)
    return params


def query_request(params: dict[str, str], service: str, request_id: str) -> QueryRequest:
    rest = dict(params)
    action = rest.pop("Action", "")
    version = rest.pop("Version", "")
    return QueryRequest(action=action, version=version, params=rest, service=service, request_id=request_id)


def xml_text(s: str) -> str:
    return _NOT_XML.sub("\ufffd", s)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Timestamp):
        return value.iso()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return xml_text(str(value))


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


def document(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def render_result(req: QueryRequest, result: Mapping[str, Any] | None) -> bytes:
    """``<ActionResponse>`` with the result members (None: an action without output)."""
    root = ET.Element(f"{req.action}Response", xmlns=NAMESPACES[req.service])
    if result is not None:
        _fill(ET.SubElement(root, f"{req.action}Result"), result)
    meta = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(meta, "RequestId").text = req.request_id
    return document(root)


def render_error(service: str, code: str, message: str, request_id: str, fault: str = "Sender") -> bytes:
    root = ET.Element("ErrorResponse", xmlns=NAMESPACES.get(service, IAM_NS))
    err = ET.SubElement(root, "Error")
    ET.SubElement(err, "Type").text = fault
    ET.SubElement(err, "Code").text = xml_text(code)
    ET.SubElement(err, "Message").text = xml_text(message)
    ET.SubElement(root, "RequestId").text = request_id
    return document(root)
