"""IAM groups and their members."""

from __future__ import annotations

from .. import validate
from ..backend import Backend, random_id
from ..errors import already_exists, delete_conflict, no_such_entity
from ..principal import Principal
from ..query import QueryRequest
from ..records import Group, Kind, Membership
from .common import Handler, Result, group, group_record, page, user, user_record


def create_group(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    name = validate.name(req, "GroupName", 128)
    g = Group(name=name, group_id=random_id("AGPA", 17), path=validate.path(req), created=b.now())
    if not b.state.groups.insert(g):
        raise already_exists(f"Group with name {name} already exists.")
    return {"Group": group_record(b, g)}


def get_group(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    g = group(b, req)
    users = [b.state.users.get(name=m.user_name) for m in b.state.members.all(group_name=g.name)]
    out = page(req, [user_record(b, u) for u in users if u is not None], "Users")
    out["Group"] = group_record(b, g)
    return out


def list_groups(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    prefix = validate.path_prefix(req)
    return page(
        req, [group_record(b, g) for g in b.state.groups.all() if g.path.startswith(prefix)], "Groups"
    )


def delete_group(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    g = group(b, req)
    st = b.state
    if (
        st.members.all(group_name=g.name)
        or st.attached.all(kind=Kind.GROUP, entity=g.name)
        or st.inline.all(kind=Kind.GROUP, entity=g.name)
    ):
        raise delete_conflict("Cannot delete entity, must remove users from group first.")
    st.groups.delete(name=g.name)
    return None


def add_user_to_group(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    g, u = group(b, req), user(b, req)
    b.state.members.insert(Membership(g.name, u.name))  # adding twice is not an error on AWS
    return None


def remove_user_from_group(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    g, u = group(b, req), user(b, req)
    if not b.state.members.delete(group_name=g.name, user_name=u.name):
        raise no_such_entity(f"The user with name {u.name} cannot be found in group {g.name}.")
    return None


def list_groups_for_user(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user(b, req)
    groups = [b.state.groups.get(name=m.group_name) for m in b.state.members.all(user_name=u.name)]
    return page(req, [group_record(b, g) for g in groups if g is not None], "Groups")


ACTIONS: dict[str, Handler] = {
    "CreateGroup": create_group,
    "GetGroup": get_group,
    "ListGroups": list_groups,
    "DeleteGroup": delete_group,
    "AddUserToGroup": add_user_to_group,
    "RemoveUserFromGroup": remove_user_from_group,
    "ListGroupsForUser": list_groups_for_user,
}
