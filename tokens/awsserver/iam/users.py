"""IAM users and their access keys (quota: 2 keys per user, as on AWS)."""

from __future__ import annotations

from .. import validate
from ..backend import Backend, random_id
from ..errors import AwsApiFault, already_exists, delete_conflict, limit_exceeded, no_such_entity
from ..principal import Principal
from ..query import QueryRequest, Timestamp
from ..records import Kind, User
from .common import Handler, Result, page, user, user_or_caller, user_record

MAX_KEYS_PER_USER = 2


def create_user(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    name = validate.name(req, "UserName", 64)
    path = validate.path(req)
    u = User(name=name, user_id=random_id("AIDA", 17), path=path, created=b.now())
    if not b.state.users.insert(u):
        raise already_exists(f"User with name {name} already exists.")
    return {"User": user_record(b, u)}


def get_user(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    if req.get("UserName") is None and caller.user is None:
        return {"User": {"UserId": b.account_id, "Arn": b.user_arn(None), "CreateDate": Timestamp(0)}}
    return {"User": user_record(b, user_or_caller(b, req, caller))}


def list_users(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    prefix = validate.path_prefix(req)
    users = [user_record(b, u) for u in b.state.users.all() if u.path.startswith(prefix)]
    return page(req, users, "Users")


def delete_user(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user(b, req)
    st = b.state
    if (st.credentials.all(user_name=u.name, session_token=None) or st.logins.get(user_name=u.name)
            or st.devices.all(user_name=u.name) or st.attached.all(kind=Kind.USER, entity=u.name)
            or st.inline.all(kind=Kind.USER, entity=u.name) or st.members.all(user_name=u.name)):
        raise delete_conflict("Cannot delete entity, must delete subordinate entities first.")
    st.users.delete(name=u.name)
    return None


def create_access_key(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user_or_caller(b, req, caller)
    with b.state.lock:  # count and insert together: two concurrent calls cannot both pass the quota
        if len(b.state.credentials.all(user_name=u.name, session_token=None)) >= MAX_KEYS_PER_USER:
            raise limit_exceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}")
        k = b.issue(u)
    return {"AccessKey": {"UserName": u.name, "AccessKeyId": k.access_key_id, "Status": k.status,
                          "SecretAccessKey": k.secret, "CreateDate": Timestamp(k.created)}}


def list_access_keys(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user_or_caller(b, req, caller)
    keys = [{"UserName": u.name, "AccessKeyId": k.access_key_id, "Status": k.status,
             "CreateDate": Timestamp(k.created)}
            for k in b.state.credentials.all(user_name=u.name, session_token=None)]
    return page(req, keys, "AccessKeyMetadata")


def _own_key(b: Backend, req: QueryRequest, caller: Principal) -> tuple[User, str]:
    u = user_or_caller(b, req, caller)
    akid = validate.required(req, "AccessKeyId")
    k = b.state.credentials.get(access_key_id=akid)
    if k is None or k.user_name != u.name or k.is_session:
        raise no_such_entity(f"The Access Key with id {akid} cannot be found.")
    return u, akid


def delete_access_key(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    _, akid = _own_key(b, req, caller)
    b.state.credentials.delete(access_key_id=akid)
    return None


def update_access_key(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    _, akid = _own_key(b, req, caller)
    status = validate.required(req, "Status")
    if status not in ("Active", "Inactive"):
        raise AwsApiFault(
            "ValidationError",
            f"1 validation error detected: Value '{status[:64]}' at 'status' "
            "failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]",
        )
    b.state.credentials.update({"status": status}, access_key_id=akid)
    return None


ACTIONS: dict[str, Handler] = {
    "CreateUser": create_user,
    "GetUser": get_user,
    "ListUsers": list_users,
    "DeleteUser": delete_user,
    "CreateAccessKey": create_access_key,
    "ListAccessKeys": list_access_keys,
    "DeleteAccessKey": delete_access_key,
    "UpdateAccessKey": update_access_key,
}
