"""The request context: who asks (:class:`Principal`), for what (action, resource), and the condition keys.

Condition keys live in :class:`ContextKeys`, an immutable mapping whose names are case-insensitive (as
IAM's are) and whose values are typed: ``str``, ``bool``, ``int`` / ``float``, an aware ``datetime``
or a tuple of strings for a multivalued key (``aws:TagKeys``, ``aws:CalledVia`` ...).  A key that is not
in the mapping is *absent*, which is what IAM's rules for ``...IfExists``, ``Null`` and the negated
operators are about.

The constructors build the keys AWS puts in the context for the common callers::

    RequestContext.long_term_keys("s3:ListAllMyBuckets", "*", "alice")        # no MFA keys at all
    RequestContext.session("s3:ListAllMyBuckets", "*", "alice")               # MFA present = false
    RequestContext.mfa_session("s3:ListAllMyBuckets", "*", "alice", age=60)   # present = true, age 60 s
    RequestContext.role_session("s3:GetObject", arn, role="Admin", session_name="bob", mfa_age=30)
    ctx.with_keys({"aws:SourceIp": "203.0.113.9"})
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self, TypeAlias

from .errors import ContextError

DEFAULT_ACCOUNT = "123456789012"

#: a typed condition-key value; multivalued keys are tuples of strings
ContextValue: TypeAlias = str | bool | int | float | datetime | tuple[str, ...]
#: what callers may pass (lists are turned into tuples)
ContextInput: TypeAlias = str | bool | int | float | datetime | Sequence[str]

# Global keys that AWS itself leaves out of some requests, so their absence is a fact about the request
# (long-term keys carry no MFA keys, a role session no aws:username, a direct call no aws:SourceArn, an
# account outside any organization no aws:PrincipalOrgID): no warning when a policy tests one of them
# and it is absent.  Any other absent key (aws:CurrentTime, aws:SourceIp, aws:ViaAWSService ... which
# AWS always sets, service keys, tags) is one the caller did not supply: absent, with a warning.
MODELLED_KEYS = frozenset(k.lower() for k in (
    "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge", "aws:username", "aws:TokenIssueTime",
    "aws:SourceIdentity", "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList",
    "aws:FederatedProvider", "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast",
    "aws:RoleSessionName", "aws:AssumedRoot", "aws:SourceArn", "aws:SourceAccount", "aws:SourceOwner",
    "aws:SourceOrgID", "aws:SourceOrgPaths", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:VpcSourceIp", "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4", "sts:RoleSessionName", "sts:SourceIdentity", "sts:ExternalId",
    "sts:TransitiveTagKeys"))


def _value(name: str, v: Any) -> ContextValue:
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            raise ContextError(f"condition key {name}: NaN is not a value")
        return v
    if isinstance(v, datetime):
        return v if v.tzinfo is not None else v.replace(tzinfo=UTC)
    if isinstance(v, list | tuple):
        if not all(isinstance(x, str) for x in v):
            raise ContextError(f"condition key {name}: a multivalued key holds strings only")
        return tuple(v)
    raise ContextError(f"condition key {name}: {type(v).__name__} is not a context value "
                       "(str, bool, number, datetime or a list of str)")


class ContextKeys(Mapping[str, ContextValue]):
    """Immutable condition keys with case-insensitive names (the spelling given first is kept)."""

    __slots__ = ("_d",)

    def __init__(self, items: Mapping[str, ContextInput] | Iterable[tuple[str, ContextInput]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        d: dict[str, tuple[str, ContextValue]] = {}
        for name, v in pairs:
            if not isinstance(name, str) or not name:
                raise ContextError(f"condition key names are non-empty strings, not {name!r}")
            d[name.lower()] = (name, _value(name, v))
        self._d = d

    def __getitem__(self, name: str) -> ContextValue:
        return self._d[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._d

    def __iter__(self) -> Iterator[str]:
        return (n for n, _ in self._d.values())

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ContextKeys):
            return {k: v for k, (_, v) in self._d.items()} == {k: v for k, (_, v) in other._d.items()}
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset((k, v) for k, (_, v) in self._d.items()))

    def __repr__(self) -> str:
        return f"ContextKeys({dict(self.items())!r})"

    def merged(self, more: Mapping[str, ContextInput | None]) -> ContextKeys:
        """A copy with ``more`` added or replaced; a ``None`` value removes the key."""
        d = {k: (n, v) for k, (n, v) in self._d.items()}
        for name, v in more.items():
            if v is None:
                d.pop(name.lower(), None)
            else:
                d[name.lower()] = (name, _value(name, v))
        out = ContextKeys()
        out._d = d
        return out

    def to_dict(self) -> dict[str, Any]:
        return {n: _jsonable(v) for n, v in self.items()}


def _jsonable(v: ContextValue) -> Any:
    if isinstance(v, datetime):
        return iso(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def iso(t: datetime) -> str:
    """``2026-12-01T08:00:00Z`` (UTC, the form AWS writes)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PrincipalKind(StrEnum):
    ROOT = "Account"            # the values are aws:PrincipalType's
    USER = "User"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    SERVICE = "Service"
    WEB_IDENTITY = "WebIdentity"
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True)
class Principal:
    """The caller, as resource-based policies match it (``Principal`` / ``NotPrincipal``).

    ``arn`` is the caller's own ARN (the user, the role *session*, the root, the federated user);
    ``role_arn`` is the role behind a role session (what ``aws:PrincipalArn`` holds); ``name`` is the
    service principal (``ec2.amazonaws.com``) or the identity provider of a web-identity caller.
    """

    kind: PrincipalKind
    arn: str = ""
    account: str | None = None
    role_arn: str | None = None
    name: str | None = None

    @classmethod
    def root(cls, account: str = DEFAULT_ACCOUNT) -> Self:
        return cls(PrincipalKind.ROOT, f"arn:aws:iam::{account}:root", account)

    @classmethod
    def user(cls, name: str, account: str = DEFAULT_ACCOUNT, path: str = "/") -> Self:
        return cls(PrincipalKind.USER, f"arn:aws:iam::{account}:user{_path(path)}{name}", account)

    @classmethod
    def role_session(cls, role: str, session_name: str, account: str = DEFAULT_ACCOUNT,
                     path: str = "/") -> Self:
        return cls(PrincipalKind.ASSUMED_ROLE, f"arn:aws:sts::{account}:assumed-role/{role}/{session_name}",
                   account, role_arn=f"arn:aws:iam::{account}:role{_path(path)}{role}")

    @classmethod
    def federated_user(cls, name: str, account: str = DEFAULT_ACCOUNT) -> Self:
        return cls(PrincipalKind.FEDERATED_USER, f"arn:aws:sts::{account}:federated-user/{name}", account)

    @classmethod
    def service(cls, name: str) -> Self:
        return cls(PrincipalKind.SERVICE, name=name)

    @classmethod
    def web_identity(cls, provider: str) -> Self:
        return cls(PrincipalKind.WEB_IDENTITY, name=provider)

    @classmethod
    def anonymous(cls) -> Self:
        return cls(PrincipalKind.ANONYMOUS)

    @classmethod
    def from_arn(cls, arn: str) -> Self:
        """A principal from its ARN: ``...:root``, ``...:user/...``, ``arn:aws:sts::...:assumed-role/R/S``."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            raise ContextError(f"not a principal ARN: {arn!r}")
        service, account, res = parts[2], parts[4], parts[5]
        if service == "iam" and res == "root":
            return cls.root(account)
        if service == "iam" and res.startswith("user/"):
            return cls(PrincipalKind.USER, arn, account)
        if service == "sts" and res.startswith("assumed-role/") and res.count("/") >= 2:
            _, role, session = res.split("/", 2)
            return cls.role_session(role, session, account)
        if service == "sts" and res.startswith("federated-user/"):
            return cls(PrincipalKind.FEDERATED_USER, arn, account)
        raise ContextError(f"not a principal ARN (root, user, assumed-role or federated-user): {arn!r}")

    @property
    def principal_arn(self) -> str | None:
        """``aws:PrincipalArn``: the role ARN for a role session, else the caller's own ARN."""
        return self.role_arn or self.arn or None

    @property
    def account_root(self) -> str | None:
        return f"arn:aws:iam::{self.account}:root" if self.account else None

    @property
    def user_name(self) -> str | None:
        if self.kind is PrincipalKind.USER:
            return self.arn.rsplit("/", 1)[-1]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "arn": self.arn or None, "account": self.account,
                "role_arn": self.role_arn, "name": self.name}


def _path(path: str) -> str:
    return path if path.startswith("/") and path.endswith("/") else "/"


def _principal_keys(p: Principal, user_id: str | None, session_name: str | None) -> dict[str, ContextInput]:
    keys: dict[str, ContextInput] = {"aws:PrincipalType": p.kind.value}
    if p.principal_arn:
        keys["aws:PrincipalArn"] = p.principal_arn
    if p.account:
        keys["aws:PrincipalAccount"] = p.account
    if p.kind is PrincipalKind.USER:
        keys["aws:username"] = p.user_name or ""
        keys["aws:userid"] = user_id or f"AIDA{_fake_id(p.arn)}"
    elif p.kind is PrincipalKind.ASSUMED_ROLE:
        session_name = session_name or p.arn.rsplit("/", 1)[-1]
        keys["aws:userid"] = f"{user_id or 'AROA' + _fake_id(p.role_arn or '')}:{session_name or ''}"
        keys["aws:RoleSessionName"] = session_name or ""
    elif p.kind is PrincipalKind.ROOT:
        keys["aws:userid"] = p.account or ""
    return keys


def _fake_id(seed: str) -> str:
    """A stable 17-character unique-id tail for callers that did not give the real one."""
    import hashlib

    return hashlib.sha256(seed.encode()).hexdigest()[:17].upper()


def _time_keys(at: datetime | float | None) -> dict[str, ContextInput]:
    if at is None:
        return {}
    t = at if isinstance(at, datetime) else datetime.fromtimestamp(at, UTC)
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return {"aws:CurrentTime": t, "aws:EpochTime": int(t.timestamp())}


@dataclass(frozen=True)
class RequestContext:
    """One request as IAM evaluates it.  ``keys`` takes any mapping, stored as :class:`ContextKeys`."""

    action: str
    resource: str = "*"
    principal: Principal | None = None
    keys: Mapping[str, ContextInput] = field(default_factory=ContextKeys)

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or not self.action:
            raise ContextError("the action is a non-empty string such as s3:GetObject")
        if not isinstance(self.resource, str) or not self.resource:
            raise ContextError("the resource is a non-empty string (an ARN or *)")
        if not isinstance(self.keys, ContextKeys):
            object.__setattr__(self, "keys", ContextKeys(self.keys))

    # ------------------------------------------------------------------ constructors

    @classmethod
    def for_principal(cls, action: str, resource: str = "*", principal: Principal | None = None, *,
                      user_id: str | None = None, session_name: str | None = None,
                      mfa_present: bool | None = None, mfa_age: float | None = None,
                      at: datetime | float | None = None, source_ip: str | None = None,
                      region: str | None = None, secure_transport: bool | None = True,
                      via_aws_service: bool = False, extra: Mapping[str, ContextInput] | None = None,
                      ) -> Self:
        """The general constructor behind the others: principal keys, MFA keys, time, network."""
        keys: dict[str, ContextInput] = {"aws:ViaAWSService": via_aws_service}
        if principal is not None:
            keys.update(_principal_keys(principal, user_id, session_name))
        if mfa_present is not None:
            keys["aws:MultiFactorAuthPresent"] = mfa_present
        if mfa_age is not None:
            if not isinstance(mfa_age, int | float) or isinstance(mfa_age, bool) or not mfa_age >= 0:
                raise ContextError(f"aws:MultiFactorAuthAge is a number of seconds >= 0, not {mfa_age!r}")
            keys["aws:MultiFactorAuthAge"] = mfa_age
        keys.update(_time_keys(at))
        if source_ip is not None:
            keys["aws:SourceIp"] = source_ip
        if region is not None:
            keys["aws:RequestedRegion"] = region
        if secure_transport is not None:
            keys["aws:SecureTransport"] = secure_transport
        keys.update(extra or {})
        return cls(action, resource, principal, ContextKeys(keys))

    @classmethod
    def long_term_keys(cls, action: str, resource: str = "*", username: str | None = None, *,
                       account: str = DEFAULT_ACCOUNT, **kw: Any) -> Self:
        """An IAM user's access keys: no ``aws:MultiFactorAuthPresent`` / ``Age`` keys at all."""
        p = Principal.user(username, account) if username else None
        return cls.for_principal(action, resource, p, **kw)

    @classmethod
    def session(cls, action: str, resource: str = "*", username: str | None = None,
                mfa_age: float | None = None, *, account: str = DEFAULT_ACCOUNT, **kw: Any) -> Self:
        """A user's temporary credentials: MFA present (with its age) when ``mfa_age`` is given, else
        present and ``false`` (a console sign-in with a password only, GetSessionToken without MFA)."""
        p = Principal.user(username, account) if username else None
        return cls.for_principal(action, resource, p, mfa_present=mfa_age is not None, mfa_age=mfa_age, **kw)

    @classmethod
    def mfa_session(cls, action: str, resource: str = "*", username: str | None = None,
                    age: float = 0.0, **kw: Any) -> Self:
        """GetSessionToken with an MFA code, ``age`` seconds ago."""
        return cls.session(action, resource, username, mfa_age=age, **kw)

    @classmethod
    def role_session(cls, action: str, resource: str = "*", *, role: str, session_name: str = "session",
                     account: str = DEFAULT_ACCOUNT, mfa_age: float | None = None,
                     role_id: str | None = None, **kw: Any) -> Self:
        """AssumeRole credentials; MFA present with its age when the AssumeRole call carried a code."""
        p = Principal.role_session(role, session_name, account)
        return cls.for_principal(action, resource, p, user_id=role_id, session_name=session_name,
                                 mfa_present=mfa_age is not None, mfa_age=mfa_age, **kw)

    @classmethod
    def root(cls, action: str, resource: str = "*", *, account: str = DEFAULT_ACCOUNT, **kw: Any) -> Self:
        return cls.for_principal(action, resource, Principal.root(account), **kw)

    def with_keys(self, more: Mapping[str, ContextInput | None]) -> Self:
        """A copy with keys added or replaced (``None`` removes one)."""
        keys = self.keys if isinstance(self.keys, ContextKeys) else ContextKeys(self.keys)
        return type(self)(self.action, self.resource, self.principal, keys.merged(more))

    def with_request(self, action: str | None = None, resource: str | None = None) -> Self:
        return type(self)(action or self.action, resource or self.resource, self.principal, self.keys)

    # ------------------------------------------------------------------ reading

    def get(self, name: str) -> ContextValue | None:
        """The value of a condition key, or None when it is absent."""
        return self.keys.get(name)  # type: ignore[return-value]

    @property
    def username(self) -> str | None:
        v = self.get("aws:username")
        return v if isinstance(v, str) else None

    @property
    def mfa_present(self) -> bool | None:
        v = self.get("aws:MultiFactorAuthPresent")
        if isinstance(v, str):
            return v.lower() == "true"
        return v if isinstance(v, bool) else None

    @property
    def mfa_age(self) -> float | None:
        v = self.get("aws:MultiFactorAuthAge")
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            return None
        try:
            return float(v)
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        keys = self.keys if isinstance(self.keys, ContextKeys) else ContextKeys(self.keys)
        return {"action": self.action, "resource": self.resource,
                "principal": self.principal.to_dict() if self.principal else None,
                "username": self.username, "mfa_present": self.mfa_present, "mfa_age": self.mfa_age,
                "keys": keys.to_dict()}


__all__ = ["DEFAULT_ACCOUNT", "MODELLED_KEYS", "ContextInput", "ContextKeys", "ContextValue", "Principal",
           "PrincipalKind", "RequestContext", "iso"]
