"""Optional enforcement of identity policies on IAM actions (``tokensim aws serve --policy FILE``).

The policies are attached to every IAM user of the simulated account and evaluated with
:mod:`tokens.policy` in the request context IAM would see: the user name, and the MFA context of
the credentials (absent for long-term keys; present/age for session credentials).  The root user
is never restricted, and STS GetSessionToken / GetCallerIdentity need no permission, as on AWS.
A refusal is AWS's AccessDenied with its "not authorized to perform" message.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..policy import Evaluator, PolicyDocument
from ..policy.evaluate import Decision
from .backend import Backend, Caller
from .errors import ApiError
from .protocol import QueryRequest


def resource_of(b: Backend, req: QueryRequest, caller: Caller) -> str:
    """The ARN an IAM action is authorised against."""
    a = req.action
    if a == "ListVirtualMFADevices":
        return "*"
    if a == "CreateVirtualMFADevice":
        return b.mfa_arn(req.get("Path", "/") or "/", req.get("VirtualMFADeviceName", "") or "")
    if a == "DeleteVirtualMFADevice":
        return req.get("SerialNumber", "") or ""
    name = req.get("UserName")
    if name is None:
        return b.user_arn(caller.user)
    user = b.state.user(name)
    return b.user_arn(user) if user else f"arn:aws:iam::{b.account_id}:user/{name}"


class Authorizer:
    def __init__(self, policies: Sequence[PolicyDocument]) -> None:
        self.evaluator = Evaluator(policies)

    def check(self, b: Backend, req: QueryRequest, caller: Caller) -> None:
        if caller.user is None or req.service != "iam":
            return
        action = f"iam:{req.action}"
        resource = resource_of(b, req, caller)
        akid = caller.key.access_key_id if caller.key else ""
        ctx = b.request_context(akid, action, resource)
        result = self.evaluator.evaluate(ctx)
        if result.allowed:
            return
        why = ("with an explicit deny in an identity-based policy"
               if result.decision is Decision.EXPLICIT_DENY
               else f"because no identity-based policy allows the {action} action")
        raise ApiError("AccessDenied", f"User: {b.user_arn(caller.user)} is not authorized to perform: "
                       f"{action} on resource: {resource} {why}", 403)
