"""Managed policies (customer managed with versions; AWS managed by ARN), attachments, inline policies.

Customer managed policies keep at most 5 versions, one of them the default; AWS managed policies
come from the policy engine's maintained data (:func:`tokens.awsserver.authz.aws_managed`).
Attach/Detach/ListAttached and Put/Get/Delete/List inline policies exist for users, groups and roles.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .. import authz, validate
from ..backend import Backend, random_id
from ..errors import AwsApiFault, already_exists, delete_conflict, limit_exceeded, no_such_entity
from ..principal import Principal
from ..query import QueryRequest, Timestamp
from ..records import Attachment, InlinePolicy, Kind, ManagedPolicy, PolicyVersion
from .common import Handler, Result, group, page, role, user

MAX_VERSIONS = 5
MANAGED_MAX, INLINE_MAX = 6144, 10240
MAX_ATTACHED = 10  # default quota of managed policies per user, group or role


def _policy_record(b: Backend, p: ManagedPolicy) -> dict[str, Any]:
    count = len(b.state.attached.all(arn=p.arn))
    return {"PolicyName": p.name, "PolicyId": p.policy_id, "Arn": p.arn, "Path": p.path,
            "DefaultVersionId": p.default_version, "AttachmentCount": count, "IsAttachable": True,
            "CreateDate": Timestamp(p.created), "UpdateDate": Timestamp(p.updated),
            "Description": p.description or None}


def _aws_record(arn: str, m: authz.AwsManaged) -> dict[str, Any]:
    return {"PolicyName": m.name, "PolicyId": m.policy_id, "Arn": arn, "Path": m.path,
            "DefaultVersionId": m.version, "AttachmentCount": 0, "IsAttachable": True,
            "CreateDate": Timestamp(0), "UpdateDate": Timestamp(0)}


def _no_policy(arn: str) -> AwsApiFault:
    return no_such_entity(f"Policy {arn} does not exist or is not attachable.")


def _customer(b: Backend, arn: str) -> ManagedPolicy:
    p = b.state.policies.get(arn=arn)
    if p is None:
        raise _no_policy(arn)
    return p


def _document(req: QueryRequest, max_len: int) -> str:
    doc = validate.text(req, "PolicyDocument", 131072)
    if len("".join(doc.split())) > max_len:
        raise limit_exceeded(f"Cannot exceed quota for PolicySize: {max_len}")
    authz.check_document(doc)
    return doc


def create_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    name = validate.name(req, "PolicyName", 128)
    path = validate.path(req)
    doc = _document(req, MANAGED_MAX)
    description = validate.text(req, "Description", 1000, optional=True, min_len=0)
    now = b.now()
    p = ManagedPolicy(arn=b.arn("policy", path, name), name=name, policy_id=random_id("ANPA", 17), path=path,
                      default_version="v1", created=now, updated=now, description=description)
    with b.state.lock:
        if any(q.name == name for q in b.state.policies.all()) or not b.state.policies.insert(p):
            raise already_exists(f"A policy called {name} already exists. Duplicate names are not allowed.")
        b.state.versions.insert(PolicyVersion(p.arn, "v1", doc, now))
    return {"Policy": _policy_record(b, p)}


def get_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    arn = validate.arn(req, "PolicyArn")
    m = authz.aws_managed(arn)
    if m is not None:
        return {"Policy": _aws_record(arn, m)}
    return {"Policy": _policy_record(b, _customer(b, arn))}


def list_policies(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    scope = req.get("Scope", "All")
    only_attached = validate.boolean(req, "OnlyAttached")
    items: list[dict[str, Any]] = []
    if scope in ("All", "Local"):
        items += [_policy_record(b, p) for p in b.state.policies.all()]
    if scope in ("All", "AWS"):
        attached = {a.arn for a in b.state.attached.all()}
        for arn in sorted(attached):
            m = authz.aws_managed(arn)
            if m is not None:
                items.append(_aws_record(arn, m))
    if only_attached:
        items = [i for i in items if b.state.attached.all(arn=i["Arn"])]
    return page(req, items, "Policies")


def delete_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p = _customer(b, validate.arn(req, "PolicyArn"))
    if b.state.attached.all(arn=p.arn):
        raise delete_conflict("Cannot delete a policy attached to entities.")
    if len(b.state.versions.all(arn=p.arn)) > 1:
        raise delete_conflict("Cannot delete a policy with non-default versions; delete them first.")
    b.state.versions.delete(arn=p.arn)
    b.state.policies.delete(arn=p.arn)
    return None


def _version_record(v: PolicyVersion, default: str, with_doc: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"VersionId": v.version_id, "IsDefaultVersion": v.version_id == default,
                           "CreateDate": Timestamp(v.created)}
    if with_doc:
        out["Document"] = quote(v.document, safe="")
    return out


def create_policy_version(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p = _customer(b, validate.arn(req, "PolicyArn"))
    doc = _document(req, MANAGED_MAX)
    make_default = validate.boolean(req, "SetAsDefault")
    now = b.now()
    with b.state.lock:
        versions = b.state.versions.all(arn=p.arn)
        if len(versions) >= MAX_VERSIONS:
            raise limit_exceeded(
                f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a "
                "new version, you must delete an existing version."
            )
        vid = f"v{max(int(v.version_id[1:]) for v in versions) + 1}"
        v = PolicyVersion(p.arn, vid, doc, now)
        b.state.versions.insert(v)
        b.state.policies.update(
            {"updated": now, **({"default_version": vid} if make_default else {})}, arn=p.arn
        )
    return {"PolicyVersion": _version_record(v, vid if make_default else p.default_version, False)}


def _version(b: Backend, req: QueryRequest) -> tuple[ManagedPolicy, PolicyVersion]:
    p = _customer(b, validate.arn(req, "PolicyArn"))
    vid = validate.required(req, "VersionId")
    v = b.state.versions.get(arn=p.arn, version_id=vid)
    if v is None:
        raise no_such_entity(f"Policy {p.arn} version {vid[:32]} does not exist or is not attachable.")
    return p, v


def get_policy_version(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    arn = validate.arn(req, "PolicyArn")
    m = authz.aws_managed(arn)
    if m is not None:
        return {
            "PolicyVersion": {
                "VersionId": m.version,
                "IsDefaultVersion": True,
                "Document": quote(m.document, safe=""),
                "CreateDate": Timestamp(0),
            }
        }
    p, v = _version(b, req)
    return {"PolicyVersion": _version_record(v, p.default_version, True)}


def list_policy_versions(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p = _customer(b, validate.arn(req, "PolicyArn"))
    versions = sorted(b.state.versions.all(arn=p.arn), key=lambda v: -int(v.version_id[1:]))
    return page(req, [_version_record(v, p.default_version, False) for v in versions], "Versions")


def delete_policy_version(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p, v = _version(b, req)
    if v.version_id == p.default_version:
        raise delete_conflict("Cannot delete the default version of a policy.")
    b.state.versions.delete(arn=p.arn, version_id=v.version_id)
    return None


def set_default_policy_version(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p, v = _version(b, req)
    b.state.policies.update({"default_version": v.version_id, "updated": b.now()}, arn=p.arn)
    return None


# -- attachments and inline policies, for users, groups and roles


def _entity(b: Backend, req: QueryRequest, kind: Kind) -> str:
    if kind is Kind.USER:
        return user(b, req).name
    if kind is Kind.GROUP:
        return group(b, req).name
    return role(b, req).name


def _attach(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity = _entity(b, req, kind)
        arn = validate.arn(req, "PolicyArn")
        if authz.aws_managed(arn) is None:
            _customer(b, arn)
        with b.state.lock:
            if len(b.state.attached.all(kind=kind, entity=entity)) >= MAX_ATTACHED:
                raise limit_exceeded(
                    f"Cannot exceed quota for PoliciesPer{kind.value.title()}: {MAX_ATTACHED}"
                )
            b.state.attached.insert(Attachment(kind, entity, arn))
        return None

    return handler


def _detach(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity = _entity(b, req, kind)
        arn = validate.arn(req, "PolicyArn")
        if not b.state.attached.delete(kind=kind, entity=entity, arn=arn):
            raise no_such_entity(f"Policy {arn} was not found.")
        return None

    return handler


def _list_attached(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity = _entity(b, req, kind)
        items = []
        for a in b.state.attached.all(kind=kind, entity=entity):
            m = authz.aws_managed(a.arn)
            p = b.state.policies.get(arn=a.arn)
            items.append(
                {
                    "PolicyName": m.name if m else (p.name if p else a.arn.rsplit("/", 1)[-1]),
                    "PolicyArn": a.arn,
                }
            )
        return page(req, items, "AttachedPolicies")

    return handler


def _put_inline(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity = _entity(b, req, kind)
        name = validate.name(req, "PolicyName", 128)
        doc = _document(req, {Kind.USER: 2048, Kind.GROUP: 5120, Kind.ROLE: INLINE_MAX}[kind])
        b.state.inline.upsert(InlinePolicy(kind, entity, name, doc))
        return None

    return handler


def _inline(b: Backend, req: QueryRequest, kind: Kind) -> tuple[str, InlinePolicy]:
    entity = _entity(b, req, kind)
    name = validate.name(req, "PolicyName", 128)
    p = b.state.inline.get(kind=kind, entity=entity, name=name)
    if p is None:
        raise no_such_entity(f"The {kind.value} policy with name {name} cannot be found.")
    return entity, p


def _get_inline(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity, p = _inline(b, req, kind)
        return {
            f"{kind.value.title()}Name": entity,
            "PolicyName": p.name,
            "PolicyDocument": quote(p.document, safe=""),
        }

    return handler


def _delete_inline(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity, p = _inline(b, req, kind)
        b.state.inline.delete(kind=kind, entity=entity, name=p.name)
        return None

    return handler


def _list_inline(kind: Kind) -> Handler:
    def handler(b: Backend, req: QueryRequest, caller: Principal) -> Result:
        entity = _entity(b, req, kind)
        return page(req, [p.name for p in b.state.inline.all(kind=kind, entity=entity)], "PolicyNames")

    return handler


ACTIONS: dict[str, Handler] = {
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "CreatePolicyVersion": create_policy_version,
    "GetPolicyVersion": get_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "DeletePolicyVersion": delete_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
}
for _k in Kind:
    _t = _k.value.title()
    ACTIONS[f"Attach{_t}Policy"] = _attach(_k)
    ACTIONS[f"Detach{_t}Policy"] = _detach(_k)
    ACTIONS[f"ListAttached{_t}Policies"] = _list_attached(_k)
    ACTIONS[f"Put{_t}Policy"] = _put_inline(_k)
    ACTIONS[f"Get{_t}Policy"] = _get_inline(_k)
    ACTIONS[f"Delete{_t}Policy"] = _delete_inline(_k)
    ACTIONS[f"List{_t}Policies"] = _list_inline(_k)
