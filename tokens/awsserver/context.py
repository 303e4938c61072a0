"""The request context IAM evaluates conditions against (global keys + service keys).

Keys and values as AWS documents them: ``aws:MultiFactorAuthPresent`` and ``aws:MultiFactorAuthAge``
only for temporary credentials (absent for long-term keys, hence ``BoolIfExists``),
``aws:username`` only for IAM users, ``aws:userid`` (``AIDA...`` / ``AROA...:session`` / account),
``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:SourceIp``,
``aws:CurrentTime`` (ISO 8601), ``aws:EpochTime``, ``aws:SecureTransport``, ``aws:ViaAWSService``
(false: every call here comes straight from the client), ``aws:RequestedRegion``,
``aws:TokenIssueTime`` (temporary credentials), plus the target's service keys (``s3:prefix`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from .http import HttpRequest
from .principal import Principal, PrincipalKind

ContextValue = str | bool | int | float | datetime | tuple[str, ...]
Context = dict[str, ContextValue]
_TYPES = {
    PrincipalKind.ROOT: "Account",
    PrincipalKind.USER: "User",
    PrincipalKind.ROLE_SESSION: "AssumedRole",
}


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def build(
    principal: Principal,
    account: str,
    now: float,
    *,
    source_ip: str = "127.0.0.1",
    secure: bool = False,
    region: str = "us-east-1",
    extra: Mapping[str, ContextValue] | None = None,
) -> Context:
    ctx: Context = {
        "aws:userid": principal.user_id,
        "aws:PrincipalArn": principal.principal_arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": _TYPES[principal.kind],
        "aws:SourceIp": source_ip,
        "aws:CurrentTime": _at(now),
        "aws:EpochTime": int(now),
        "aws:SecureTransport": secure,
        "aws:ViaAWSService": False,
        "aws:RequestedRegion": region,
    }
    if principal.username is not None:
        ctx["aws:username"] = principal.username
    if principal.role is not None:
        ctx["aws:RoleSessionName"] = principal.arn.rsplit("/", 1)[-1]
    cred = principal.credential
    if cred is not None and cred.is_session:
        ctx["aws:TokenIssueTime"] = _at(cred.created)
        ctx["aws:MultiFactorAuthPresent"] = cred.mfa_auth_time is not None
        age = principal.mfa_age(now)
        if age is not None:
            ctx["aws:MultiFactorAuthAge"] = int(age)
    if extra:
        ctx.update(extra)
    return ctx


def for_request(
    principal: Principal,
    account: str,
    now: float,
    req: HttpRequest,
    region: str,
    extra: Mapping[str, ContextValue] | None = None,
) -> Context:
    return build(
        principal, account, now, source_ip=req.client_ip, secure=req.secure, region=region, extra=extra
    )
