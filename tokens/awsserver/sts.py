"""STS actions: GetSessionToken (the MFA check) and GetCallerIdentity.

Session credentials remember their MFA context (device, authentication time): the endpoint
answers GetCallerIdentity with it in ``x-tokensim-mfa-*`` response headers (boto3 shows them in
``ResponseMetadata.HTTPHeaders``) and :meth:`Backend.request_context` hands it to the policy
evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..verifier import Reason
from .backend import Backend, Caller
from .errors import ApiError, mfa_failed, mfa_unvalidated, validation
from .protocol import QueryRequest, Timestamp

MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 900, 129600, 43200
ROOT_MAX_DURATION = 3600  # sessions of the root user last at most an hour
Result = dict[str, Any] | None


def get_session_token(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    if caller.is_session:
        raise ApiError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
    raw = req.get("DurationSeconds")
    try:
        duration = DEFAULT_DURATION if raw is None else int(raw)
    except ValueError:
        raise validation(raw, "durationSeconds", "Member must be a number") from None
    if duration < MIN_DURATION:
        raise validation(duration, "durationSeconds",
                         f"Member must have value greater than or equal to {MIN_DURATION}")
    if duration > MAX_DURATION:
        raise validation(duration, "durationSeconds",
                         f"Member must have value less than or equal to {MAX_DURATION}")
    serial, code = req.get("SerialNumber"), req.get("TokenCode")
    user = caller.user
    now = b.now()
    auth_time: float | None = None
    if serial is not None or code is not None:
        if serial is None or code is None:
            raise mfa_unvalidated()
        if len(code) != 6 or not code.isdigit():
            raise validation(code, "tokenCode", "Member must satisfy regular expression pattern: [\\d]* "
                                                "and have length 6")
        device = b.state.device(serial)
        if device is None or device.user_name is None:
            raise mfa_unvalidated()
        if user is not None and device.user_name != user.name:
            raise mfa_unvalidated()  # someone else's device
        if user is None:  # a root (or unknown) key: the session belongs to the device's user
            user = b.state.user(device.user_name)
        res = b.verifier.verify(serial, code, at=now)
        if not res.ok:
            if res.reason in (Reason.UNKNOWN, Reason.NOT_ENABLED):
                raise mfa_unvalidated()
            raise mfa_failed()  # invalid, replayed, throttled, locked: one answer
        auth_time = res.auth_time if res.auth_time is not None else now
    if user is None:
        duration = min(duration, ROOT_MAX_DURATION)
    key = b.issue_key(user, session=True, expires=now + duration, mfa_serial=serial if auth_time else None,
                      mfa_auth_time=auth_time)
    return {"Credentials": {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret,
                            "SessionToken": key.session_token, "Expiration": Timestamp(now + duration)}}


def get_caller_identity(b: Backend, req: QueryRequest, caller: Caller) -> Result:
    u = caller.user
    return {"UserId": u.user_id if u else b.account_id, "Account": b.account_id, "Arn": b.user_arn(u)}


def mfa_headers(b: Backend, caller: Caller) -> dict[str, str]:
    """The caller's MFA context as response headers (empty for long-term keys)."""
    if caller.key is None or not caller.key.is_session:
        return {"x-tokensim-credentials": "long-term"}
    ctx = b.mfa_context(caller.key.access_key_id)
    out = {"x-tokensim-credentials": "session",
           "x-tokensim-mfa-present": "true" if ctx["present"] else "false"}
    if ctx["present"]:
        out["x-tokensim-mfa-auth-time"] = Timestamp(ctx["auth_time"]).iso()
        out["x-tokensim-mfa-age"] = f"{ctx['age']:.0f}"
        out["x-tokensim-mfa-serial"] = str(ctx["mfa_serial"])
    return out


ACTIONS: dict[str, Callable[[Backend, QueryRequest, Caller], Result]] = {
    "GetSessionToken": get_session_token,
    "GetCallerIdentity": get_caller_identity,
}
