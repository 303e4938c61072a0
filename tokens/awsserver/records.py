"""Typed records of the simulated account (IAM entities, MFA devices, credentials).

The SQLite columns are derived from these dataclasses (:mod:`.state`): one source per fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Who an attached or inline policy belongs to."""

    USER = "user"
    GROUP = "group"
    ROLE = "role"


@dataclass(frozen=True)
class User:
    name: str
    user_id: str
    path: str
    created: float


@dataclass(frozen=True)
class Group:
    name: str
    group_id: str
    path: str
    created: float


@dataclass(frozen=True)
class Membership:
    group_name: str
    user_name: str


@dataclass(frozen=True)
class Role:
    name: str
    role_id: str
    path: str
    created: float
    trust_policy: str  # JSON text
    max_session: int = 3600
    description: str = ""


@dataclass(frozen=True)
class ManagedPolicy:
    """A customer managed policy (AWS managed ones come from the policy engine's data)."""

    arn: str
    name: str
    policy_id: str
    path: str
    default_version: str
    created: float
    updated: float
    description: str = ""


@dataclass(frozen=True)
class PolicyVersion:
    arn: str
    version_id: str  # v1, v2 ...
    document: str
    created: float


@dataclass(frozen=True)
class Attachment:
    kind: str  # Kind value
    entity: str
    arn: str


@dataclass(frozen=True)
class InlinePolicy:
    kind: str  # Kind value
    entity: str
    name: str
    document: str


@dataclass(frozen=True)
class LoginProfile:
    user_name: str
    password_hash: str  # "pbkdf2_sha256$iterations$salt-hex$hash-hex"
    reset_required: bool
    created: float


@dataclass(frozen=True)
class MfaDeviceRecord:
    serial: str
    name: str
    path: str
    seed: str = ""  # base32 text
    user_name: str | None = None
    enabled: float | None = None
    created: float = 0.0


@dataclass(frozen=True)
class Credential:
    """A long-term access key (``session_token`` None) or temporary credentials with their context.

    Session credentials of a user (GetSessionToken) carry ``user_name``; role sessions
    (AssumeRole) carry ``role_name`` and ``session_name`` instead.  The MFA context is the device
    and the time of the MFA authentication, None when no MFA was given.
    """

    access_key_id: str
    secret: str
    user_name: str | None
    created: float
    status: str = "Active"
    session_token: str | None = None
    expires: float | None = None
    mfa_serial: str | None = None
    mfa_auth_time: float | None = None
    role_name: str | None = None
    session_name: str | None = None
    origin: str = ""  # "": an access key; else GetSessionToken, AssumeRole or console

    @property
    def is_console(self) -> bool:
        return self.origin == "console"

    @property
    def is_session(self) -> bool:
        return self.session_token is not None


@dataclass(frozen=True)
class Setting:
    key: str
    value: str
