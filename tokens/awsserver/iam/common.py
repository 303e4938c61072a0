"""What every IAM handler shares: the handler type, entity look-ups and result records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .. import validate
from ..backend import Backend
from ..errors import no_such_entity
from ..principal import Principal
from ..query import QueryRequest, Timestamp
from ..records import Group, Role, User
from ..state import Table

T = TypeVar("T")

Result = dict[str, Any] | None
Handler = Callable[[Backend, QueryRequest, Principal], Result]


def user_record(b: Backend, u: User) -> dict[str, Any]:
    return {"Path": u.path, "UserName": u.name, "UserId": u.user_id, "Arn": b.user_arn(u),
            "CreateDate": Timestamp(u.created)}


def group_record(b: Backend, g: Group) -> dict[str, Any]:
    return {"Path": g.path, "GroupName": g.name, "GroupId": g.group_id, "Arn": b.arn("group", g.path, g.name),
            "CreateDate": Timestamp(g.created)}


def role_record(b: Backend, r: Role) -> dict[str, Any]:
    from urllib.parse import quote

    return {"Path": r.path, "RoleName": r.name, "RoleId": r.role_id, "Arn": b.arn("role", r.path, r.name),
            "CreateDate": Timestamp(r.created), "AssumeRolePolicyDocument": quote(r.trust_policy, safe=""),
            "Description": r.description or None, "MaxSessionDuration": r.max_session}


def _named(table: Table[T], req: QueryRequest, param: str, max_len: int, what: str) -> T:
    """The ``what`` named by the request parameter ``param`` (validated), or NoSuchEntity."""
    name = validate.name(req, param, max_len)
    found = table.get(name=name)
    if found is None:
        raise no_such_entity(f"The {what} with name {name} cannot be found.")
    return found


def user(b: Backend, req: QueryRequest, param: str = "UserName") -> User:
    return _named(b.state.users, req, param, 64, "user")


def user_or_caller(b: Backend, req: QueryRequest, caller: Principal) -> User:
    """The ``UserName`` parameter's user (NoSuchEntity if unknown), else the calling user."""
    if req.get("UserName") is not None:
        return user(b, req)
    if caller.user is None or caller.username is None:
        from ..errors import AwsApiFault

        raise AwsApiFault("ValidationError", "Must specify userName when calling with non-User credentials")
    return caller.user


def group(b: Backend, req: QueryRequest) -> Group:
    return _named(b.state.groups, req, "GroupName", 128, "group")


def role(b: Backend, req: QueryRequest) -> Role:
    return _named(b.state.roles, req, "RoleName", 64, "role")


def page(req: QueryRequest, items: list[Any], key: str) -> dict[str, Any]:
    """``Marker`` / ``MaxItems`` paging over a list already in order."""
    start = 0
    marker = req.get("Marker")
    if marker is not None:
        if not (marker.isascii() and marker.isdigit()):
            from ..errors import AwsApiFault

            raise AwsApiFault("ValidationError", "Invalid Marker")
        start = int(marker)
    size = validate.integer(req, "MaxItems", 1, 1000, 100) or 100
    chunk = items[start:start + size]
    out: dict[str, Any] = {key: chunk, "IsTruncated": start + size < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = str(start + size)
    return out
