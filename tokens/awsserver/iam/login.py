"""Console passwords: login profiles, ChangePassword, the account password policy.

Passwords are stored as PBKDF2-SHA256 hashes.  ``PasswordResetRequired`` is set by
Create/UpdateLoginProfile and cleared by a successful ChangePassword; the account password
policy (length, character classes, reuse prevention is not modelled) is checked on every new
password, and ``AllowUsersToChangePassword`` governs ChangePassword as on AWS.
"""

from __future__ import annotations

import json
import string
from typing import Any

from .. import validate
from ..backend import Backend, check_password, hash_password
from ..errors import AwsApiFault, already_exists, no_such_entity
from ..principal import Principal
from ..query import QueryRequest, Timestamp
from ..records import LoginProfile
from .common import Handler, Result, user

_POLICY_KEY = "password_policy"
_FIELDS = {  # parameter → (kind, default)
    "MinimumPasswordLength": ("int", 8), "RequireSymbols": ("bool", False), "RequireNumbers": ("bool", False),
    "RequireUppercaseCharacters": ("bool", False), "RequireLowercaseCharacters": ("bool", False),
    "AllowUsersToChangePassword": ("bool", False), "MaxPasswordAge": ("int", 0),
    "PasswordReusePrevention": ("int", 0), "HardExpiry": ("bool", False),
}
_SYMBOLS = set("!@#$%^&*()_+-=[]{}|'")


def _policy(b: Backend) -> dict[str, Any] | None:
    raw = b.state.setting(_POLICY_KEY)
    return json.loads(raw) if raw else None


def _password_error(msg: str) -> AwsApiFault:
    return AwsApiFault("PasswordPolicyViolation", msg, 400)


def check_against_policy(b: Backend, password: str) -> None:
    p = _policy(b) or {"MinimumPasswordLength": 8}
    if len(password) < p.get("MinimumPasswordLength", 8):
        raise _password_error(f"Password should have a minimum length of {p.get('MinimumPasswordLength', 8)}")
    checks = (("RequireSymbols", _SYMBOLS, "at least one symbol"),
              ("RequireNumbers", set(string.digits), "at least one number"),
              ("RequireUppercaseCharacters", set(string.ascii_uppercase), "one uppercase character"),
              ("RequireLowercaseCharacters", set(string.ascii_lowercase), "one lowercase character"))
    for key, chars, what in checks:
        if p.get(key) and not chars.intersection(password):
            raise _password_error(f"Password should have {what}")


def _password(req: QueryRequest, param: str) -> str:
    return validate.text(req, param, 128)


def create_login_profile(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user(b, req)
    password = _password(req, "Password")
    check_against_policy(b, password)
    reset = validate.boolean(req, "PasswordResetRequired")
    lp = LoginProfile(u.name, hash_password(password), reset, b.now())
    if not b.state.logins.insert(lp):
        raise already_exists(f"Login Profile for user {u.name} already exists.")
    return {"LoginProfile": {"UserName": u.name, "CreateDate": Timestamp(lp.created),
                             "PasswordResetRequired": reset}}


def _profile(b: Backend, name: str) -> LoginProfile:
    lp = b.state.logins.get(user_name=name)
    if lp is None:
        raise no_such_entity(f"Login Profile for User {name} cannot be found.")
    return lp


def get_login_profile(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    name = user(b, req).name if req.get("UserName") else (caller.username or "")
    lp = _profile(b, name)
    return {"LoginProfile": {"UserName": name, "CreateDate": Timestamp(lp.created),
                             "PasswordResetRequired": lp.reset_required}}


def update_login_profile(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user(b, req)
    lp = _profile(b, u.name)
    values: dict[str, Any] = {}
    if req.get("Password") is not None:
        password = _password(req, "Password")
        check_against_policy(b, password)
        values["password_hash"] = hash_password(password)
    if req.get("PasswordResetRequired") is not None:
        values["reset_required"] = validate.boolean(req, "PasswordResetRequired")
    if values:
        b.state.logins.update(values, user_name=lp.user_name)
    return None


def delete_login_profile(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    u = user(b, req)
    if not b.state.logins.delete(user_name=u.name):
        raise no_such_entity(f"Login Profile for User {u.name} cannot be found.")
    return None


def change_password(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    if caller.username is None:
        raise AwsApiFault("InvalidUserType", "Only IAM users can change their own password.", 400)
    old, new = _password(req, "OldPassword"), _password(req, "NewPassword")
    lp = _profile(b, caller.username)
    if not check_password(old, lp.password_hash):
        raise AwsApiFault("AccessDenied", "The old password was incorrect.", 403)
    check_against_policy(b, new)
    b.state.logins.update({"password_hash": hash_password(new), "reset_required": False},
                          user_name=lp.user_name)
    return None


def get_account_password_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p = _policy(b)
    if p is None:
        raise no_such_entity(f"The Password Policy with domain name {b.account_id} cannot be found.")
    out = dict(p)
    out["ExpirePasswords"] = bool(p.get("MaxPasswordAge"))
    for k in ("MaxPasswordAge", "PasswordReusePrevention"):
        if not out.get(k):
            out.pop(k, None)
    return {"PasswordPolicy": out}


def update_account_password_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    p: dict[str, Any] = {}
    for key, (kind, default) in _FIELDS.items():
        if kind == "int":
            low, high = {"MinimumPasswordLength": (6, 128), "MaxPasswordAge": (1, 1095),
                         "PasswordReusePrevention": (1, 24)}[key]
            p[key] = validate.integer(req, key, low, high, default)
        else:
            p[key] = validate.boolean(req, key, bool(default))
    b.state.set_setting(_POLICY_KEY, json.dumps(p))
    return None


def delete_account_password_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    if _policy(b) is None:
        raise no_such_entity("The account policy with name PasswordPolicy cannot be found.")
    b.state.set_setting(_POLICY_KEY, None)
    return None


ACTIONS: dict[str, Handler] = {
    "CreateLoginProfile": create_login_profile, "GetLoginProfile": get_login_profile,
    "UpdateLoginProfile": update_login_profile, "DeleteLoginProfile": delete_login_profile,
    "ChangePassword": change_password, "GetAccountPasswordPolicy": get_account_password_policy,
    "UpdateAccountPasswordPolicy": update_account_password_policy,
    "DeleteAccountPasswordPolicy": delete_account_password_policy,
}
