"""Which API operation a request is, read from botocore's service models (no hand table).

* query / ec2 protocols: the ``Action`` parameter, checked against the model's operation names;
* json: ``X-Amz-Target: <targetPrefix>.<Operation>``;
* rest-json / rest-xml: method + path matched against every operation's ``requestUri`` template
  (``/{Bucket}/{Key+}?uploads``): literal segments, ``{Label}`` one segment, ``{Label+}`` the rest,
  literal query keys (``?policy``, ``?list-type=2``) required, and the operation whose required
  query-string members are present and whose template is most specific wins.

The service comes from the SigV4 credential scope (its signing name); the model is the one whose
``signingName`` (else ``endpointPrefix``) is that name, looked up once per name.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import OperationModel, ServiceModel

from .errors import AwsApiFault
from .http import HttpRequest

_session_lock = threading.Lock()
_session = botocore.session.get_session()


@dataclass(frozen=True)
class Operation:
    service: str  # botocore service name (s3, ec2, iam ...)
    signing_name: str
    prefix: str  # the IAM action prefix (s3, ec2, iam ...)
    name: str  # the operation (ListObjectsV2, DescribeInstances ...)
    protocol: str
    path_params: tuple[tuple[str, str], ...] = ()  # REST labels, decoded

    @property
    def action(self) -> str:
        return f"{self.prefix}:{self.name}"

    def label(self, name: str) -> str | None:
        return dict(self.path_params).get(name)


def _load(name: str) -> ServiceModel | None:
    with _session_lock:
        try:
            return _session.get_service_model(name)
        except UnknownServiceError:
            return None


def _signing(m: ServiceModel) -> str:
    meta = m.metadata
    return str(meta.get("signingName") or meta.get("endpointPrefix") or m.service_name)


def _metadata_head(service: str) -> dict[str, str]:
    """``endpointPrefix`` / ``signingName`` read from the first bytes of a service model, without
    loading (and caching) the whole model: a scan of every service stays cheap in time and memory."""
    import gzip
    import os

    loader = _session.get_component("data_loader")
    version = loader.determine_latest_version(service, "service-2")
    for base in loader.search_paths:
        for name in ("service-2.json.gz", "service-2.json"):
            path = os.path.join(base, service, version, name)
            if os.path.isfile(path):
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rb") as f:
                    head = f.read(4096)
                body = head.split(b'"operations"', 1)[0]  # the metadata block comes first
                return {k.decode(): v.decode() for k, v in
                        re.findall(rb'"(endpointPrefix|signingName)"\s*:\s*"([^"]*)"', body)}
    return {}


@lru_cache(maxsize=1)
def _signing_index() -> dict[str, str]:
    """signing name → service model name, for the services whose names differ."""
    with _session_lock:
        names = _session.get_available_services()
        out: dict[str, str] = {}
        for name in names:
            try:
                meta = _metadata_head(name)
            except (OSError, ValueError):
                continue
            signing = meta.get("signingName") or meta.get("endpointPrefix") or name
            out.setdefault(signing, name)
    return out


@lru_cache(maxsize=256)
def model_for(signing_name: str) -> ServiceModel | None:
    """The service model signed as ``signing_name`` (the same-named model first, else the index)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,62}", signing_name):
        return None
    m = _load(signing_name)
    if m is not None and _signing(m) == signing_name:
        return m
    other = _signing_index().get(signing_name)
    if other is not None and other != signing_name:
        return _load(other)
    return m


@dataclass(frozen=True)
class _Route:
    op: str
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    literal_query: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    specificity: int
    deprecated: bool


def _route(op: OperationModel) -> _Route:
    uri = str(op.http.get("requestUri", "/"))
    path, _, q = uri.partition("?")
    labels: list[str] = []
    rx = ""
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            label = piece[1:-1]
            greedy = label.endswith("+")
            labels.append(label.rstrip("+"))
            rx += "(.+)" if greedy else "([^/]+)"
        else:
            rx += re.escape(piece)
    if path.endswith("}") and not path.endswith("+}"):
        rx += "/?"
    literal: list[tuple[str, str | None]] = []
    for item in filter(None, q.split("&")):
        k, sep, v = item.partition("=")
        literal.append((k, v if sep else None))
    required: list[str] = []
    shape = op.input_shape
    if shape is not None:
        req = set(shape.required_members)
        for name, member in shape.members.items():
            if member.serialization.get("location") == "querystring" and name in req:
                required.append(str(member.serialization.get("name", name)))
    specificity = len(re.sub(r"\{[^}]+\}", "", path)) + 100 * len(literal)
    return _Route(op.name, str(op.http.get("method", "POST")).upper(), re.compile(rx),
                  tuple(labels), tuple(literal), tuple(required), specificity, bool(op.deprecated))


@lru_cache(maxsize=64)
def _routes(service: str) -> tuple[_Route, ...]:
    m = _load(service)
    assert m is not None
    return tuple(_route(m.operation_model(n)) for n in m.operation_names)


def _match_rest(m: ServiceModel, req: HttpRequest) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    path = req.raw_path.split("?", 1)[0] or "/"
    q = req.query_params()
    best: tuple[tuple[int, int], _Route, Any] | None = None
    for r in _routes(m.service_name):
        if r.method != req.method.upper():
            continue
        mt = r.pattern.fullmatch(path)
        if mt is None:
            continue
        if any(k not in q or (v is not None and q[k] != v) for k, v in r.literal_query):
            continue
        if any(k not in q for k in r.required_query):
            continue
        score = (r.specificity + 10 * len(r.required_query), 0 if r.deprecated else 1)
        if best is None or score > best[0]:
            best = (score, r, mt)
    if best is None:
        return None
    _, r, mt = best
    return r.op, tuple((lab, unquote(v)) for lab, v in zip(r.labels, mt.groups(), strict=True))


def request_protocol(m: ServiceModel, req: HttpRequest) -> str:
    """Which of the model's protocols the client used (services such as CloudWatch offer several)."""
    offered = list(m.metadata.get("protocols") or [m.protocol])
    if m.protocol not in offered:
        offered.insert(0, m.protocol)
    if "smithy-rpc-v2-cbor" in offered and req.header("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if "json" in offered and req.header("x-amz-target"):
        return "json"
    for p in ("query", "ec2"):
        if p in offered and (req.header("content-type").startswith("application/x-www-form-urlencoded")
                             or "Action=" in req.query):
            return p
    return m.protocol


def unknown_operation(protocol: str, what: str) -> AwsApiFault:
    if protocol in ("query", "ec2"):
        return AwsApiFault("InvalidAction",
                           f"The action {what or '(none)'} is not valid for this web service.")
    if protocol == "json":
        return AwsApiFault("UnknownOperationException", f"Unknown operation {what}", 400)
    return AwsApiFault(
        "MethodNotAllowed", f"The specified method is not allowed against this resource: {what}", 405
    )


def resolve(signing_name: str, req: HttpRequest, params: dict[str, str]) -> Operation:
    """The operation ``req`` calls on the service signed as ``signing_name``."""
    m = model_for(signing_name)
    if m is None:
        raise AwsApiFault(
            "InvalidClientTokenId" if not signing_name else "UnrecognizedService",
            f"Unknown service '{signing_name[:64]}'",
            400,
        )
    proto = request_protocol(m, req)
    prefix = signing_name  # the IAM prefix is the signing name for every service modelled here
    if proto in ("query", "ec2"):
        action = params.get("Action", "")
        if action not in m.operation_names:
            raise unknown_operation(proto, action[:128])
        return Operation(m.service_name, signing_name, prefix, action, proto)
    if proto == "smithy-rpc-v2-cbor":  # POST /service/<ServiceName>/operation/<Operation>
        m_path = re.fullmatch(r"(?:/.*)?/service/[^/]+/operation/([^/]+)", req.raw_path)
        op = m_path.group(1) if m_path else ""
        if op not in m.operation_names:
            raise unknown_operation("json", op[:128])
        return Operation(m.service_name, signing_name, prefix, op, proto)
    if proto == "json":
        target = req.header("x-amz-target")
        tp, _, op = target.rpartition(".")
        if tp != m.metadata.get("targetPrefix") or op not in m.operation_names:
            raise unknown_operation(proto, target[:128])
        return Operation(m.service_name, signing_name, prefix, op, proto)
    found = _match_rest(m, req)
    if found is None:
        raise unknown_operation(proto, f"{req.method} {req.raw_path[:128]}")
    return Operation(m.service_name, signing_name, prefix, found[0], proto, found[1])
