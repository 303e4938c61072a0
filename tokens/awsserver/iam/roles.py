"""IAM roles and their trust policies (evaluated by STS AssumeRole)."""

from __future__ import annotations

from .. import authz, validate
from ..backend import Backend, random_id
from ..errors import already_exists, delete_conflict
from ..principal import Principal
from ..query import QueryRequest
from ..records import Kind, Role
from .common import Handler, Result, page, role, role_record

TRUST_MAX = 2048


def create_role(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    name = validate.name(req, "RoleName", 64)
    path = validate.path(req)
    trust = validate.text(req, "AssumeRolePolicyDocument", 131072)
    authz.check_document(trust, kind=authz.Kind.TRUST)
    max_session = validate.integer(req, "MaxSessionDuration", 3600, 43200, 3600) or 3600
    description = validate.text(req, "Description", 1000, optional=True, min_len=0)
    r = Role(name=name, role_id=random_id("AROA", 17), path=path, created=b.now(), trust_policy=trust,
             max_session=max_session, description=description)
    if not b.state.roles.insert(r):
        raise already_exists(f"Role with name {name} already exists.")
    return {"Role": role_record(b, r)}


def get_role(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    return {"Role": role_record(b, role(b, req))}


def list_roles(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    prefix = validate.path_prefix(req)
    return page(req, [role_record(b, r) for r in b.state.roles.all() if r.path.startswith(prefix)], "Roles")


def delete_role(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    r = role(b, req)
    if b.state.attached.all(kind=Kind.ROLE, entity=r.name) or b.state.inline.all(
        kind=Kind.ROLE, entity=r.name
    ):
        raise delete_conflict("Cannot delete entity, must detach all policies first.")
    b.state.roles.delete(name=r.name)
    return None


def update_assume_role_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    r = role(b, req)
    trust = validate.text(req, "PolicyDocument", 131072)
    authz.check_document(trust, kind=authz.Kind.TRUST)
    b.state.roles.update({"trust_policy": trust}, name=r.name)
    return None


ACTIONS: dict[str, Handler] = {
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "DeleteRole": delete_role,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
}
