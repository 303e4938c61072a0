"""STS: GetSessionToken (the MFA check), AssumeRole (trust policy + MFA), GetCallerIdentity.

Session credentials remember their MFA context (device, authentication time).  GetCallerIdentity
also answers it in ``x-tokensim-mfa-*`` response headers (boto3 shows them in
``ResponseMetadata.HTTPHeaders``).  The root user never receives a user's session: a device is
only accepted from the user it is assigned to.
"""

from __future__ import annotations

from typing import Any

from ..verifier import Reason
from . import authz, context, validate
from .backend import Backend
from .errors import AwsApiFault, mfa_failed, mfa_unvalidated, no_such_entity
from .iam.common import Handler, Result
from .principal import Principal, PrincipalKind
from .query import QueryRequest, Timestamp
from .records import Credential

MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 900, 129600, 43200
ROOT_MAX_DURATION = 3600  # sessions of the root user last at most an hour
ROLE_DEFAULT_DURATION = 3600


def _verify_mfa(b: Backend, req: QueryRequest, caller: Principal) -> tuple[str, float] | None:
    """(serial, auth time) when SerialNumber + TokenCode are given and right; None when neither is."""
    if req.get("SerialNumber") is None and req.get("TokenCode") is None:
        return None
    if req.get("SerialNumber") is None or req.get("TokenCode") is None:
        raise mfa_unvalidated()
    serial = validate.serial(req)
    code = validate.code(req, "TokenCode")
    device = b.state.devices.get(serial=serial)
    if device is None or device.user_name is None or device.user_name != caller.username:
        raise mfa_unvalidated()  # unknown, unassigned, or someone else's device (root included)
    now = b.now()
    res = b.verifier.verify(serial, code, at=now)
    if not res.ok:
        if res.reason in (Reason.UNKNOWN, Reason.NOT_ENABLED):
            raise mfa_unvalidated()
        raise mfa_failed()  # invalid, replayed, throttled, locked: one answer
    return serial, (res.auth_time if res.auth_time is not None else now)


def _credentials(cred: Credential) -> dict[str, Any]:
    return {"AccessKeyId": cred.access_key_id, "SecretAccessKey": cred.secret,
            "SessionToken": cred.session_token, "Expiration": Timestamp(cred.expires or 0)}


def get_session_token(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    if caller.is_session:
        raise AwsApiFault("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
    duration = validate.integer(req, "DurationSeconds", MIN_DURATION, MAX_DURATION, DEFAULT_DURATION)
    assert duration is not None
    mfa = _verify_mfa(b, req, caller)
    if caller.kind is PrincipalKind.ROOT:
        duration = min(duration, ROOT_MAX_DURATION)
    now = b.now()
    cred = b.issue(caller.user, session=True, expires=now + duration, mfa_serial=mfa[0] if mfa else None,
                   mfa_auth_time=mfa[1] if mfa else None)
    b.state.credentials.update({"origin": "GetSessionToken"}, access_key_id=cred.access_key_id)
    return {"Credentials": _credentials(cred)}


def assume_role(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    role_arn = validate.arn(req, "RoleArn")
    session = validate.required(req, "RoleSessionName")
    if not 2 <= len(session) <= 64 or not all(
        c.isascii() and (c.isalnum() or c in "_+=,.@-") for c in session
    ):
        raise AwsApiFault(
            "ValidationError",
            "1 validation error detected: Value at 'roleSessionName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        )
    duration = validate.integer(req, "DurationSeconds", MIN_DURATION, 43200, ROLE_DEFAULT_DURATION)
    assert duration is not None
    role = next((r for r in b.state.roles.all() if b.arn("role", r.path, r.name) == role_arn), None)
    if role is None:
        raise no_such_entity(f"The role with name {role_arn.rsplit('/', 1)[-1]} cannot be found.")
    if duration > role.max_session:
        raise AwsApiFault(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    mfa = _verify_mfa(b, req, caller)
    now = b.now()
    extra: dict[str, context.ContextValue] = {"sts:RoleSessionName": session}
    if mfa is not None:
        extra.update({"aws:MultiFactorAuthPresent": True, "aws:MultiFactorAuthAge": int(now - mfa[1])})
    ctx = context.build(caller, b.account_id, now, extra=extra)
    trust = authz.NamedPolicy(f"{role.name} trust policy", role.trust_policy)
    decision = authz.authorize(
        b, authz.identity_policies(b, caller), caller, "sts:AssumeRole", role_arn, ctx, trust_policy=trust
    )
    if not decision.allowed:
        # a trust policy that does not admit the caller reads as a plain "not authorized" on AWS
        raise AwsApiFault(
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )
    cred = b.issue(
        None,
        session=True,
        expires=now + duration,
        mfa_serial=mfa[0] if mfa else None,
        mfa_auth_time=mfa[1] if mfa else None,
        role_name=role.name,
        session_name=session,
    )
    b.state.credentials.update({"origin": "AssumeRole"}, access_key_id=cred.access_key_id)
    return {
        "Credentials": _credentials(cred),
        "AssumedRoleUser": {
            "AssumedRoleId": f"{role.role_id}:{session}",
            "Arn": f"arn:aws:sts::{b.account_id}:assumed-role/{role.name}/{session}",
        },
    }


def get_caller_identity(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    return {"UserId": caller.user_id, "Account": b.account_id, "Arn": caller.arn}


def mfa_headers(b: Backend, caller: Principal) -> dict[str, str]:
    """The caller's MFA context as response headers (long-term keys: none)."""
    if not caller.is_session or caller.credential is None:
        return {"x-tokensim-credentials": "long-term"}
    cred = caller.credential
    out = {
        "x-tokensim-credentials": "session",
        "x-tokensim-mfa-present": "true" if cred.mfa_auth_time is not None else "false",
    }
    if cred.mfa_auth_time is not None:
        out["x-tokensim-mfa-auth-time"] = Timestamp(cred.mfa_auth_time).iso()
        out["x-tokensim-mfa-age"] = f"{caller.mfa_age(b.now()) or 0:.0f}"
        out["x-tokensim-mfa-serial"] = str(cred.mfa_serial)
    return out


ACTIONS: dict[str, Handler] = {
    "GetSessionToken": get_session_token,
    "AssumeRole": assume_role,
    "GetCallerIdentity": get_caller_identity,
}
