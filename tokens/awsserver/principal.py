"""Who is calling: the signed access key → credentials → an IAM user, a role session or the root user.

Checks done here, as AWS does them: an unknown key or a session key without (or with a different)
session token → ``InvalidClientTokenId``; expired session credentials → ``ExpiredToken``; an
inactive key → ``InvalidClientTokenId``; a wrong secret → ``SignatureDoesNotMatch`` (:mod:`.sigv4`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from . import sigv4
from .backend import Backend
from .errors import AwsApiFault
from .http import HttpRequest
from .records import Credential, Role, User


class PrincipalKind(StrEnum):
    ROOT = "root"
    USER = "user"
    ROLE_SESSION = "assumed-role"


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    arn: str  # the caller's ARN (GetCallerIdentity's Arn)
    principal_arn: str  # aws:PrincipalArn (the role's ARN for a role session)
    user_id: str  # aws:userid
    user: User | None = None
    role: Role | None = None
    credential: Credential | None = None

    @property
    def is_session(self) -> bool:
        return self.credential is not None and self.credential.is_session

    @property
    def mfa_present(self) -> bool | None:
        """None for long-term keys (the key is absent), else whether MFA was used."""
        if not self.is_session:
            return None
        assert self.credential is not None
        return self.credential.mfa_auth_time is not None

    def mfa_age(self, now: float) -> float | None:
        c = self.credential
        if c is None or c.mfa_auth_time is None:
            return None
        return max(0.0, now - c.mfa_auth_time)

    @property
    def username(self) -> str | None:
        return self.user.name if self.user is not None and self.kind is PrincipalKind.USER else None


def invalid_token() -> AwsApiFault:
    return AwsApiFault("InvalidClientTokenId", "The security token included in the request is invalid.", 403)


def expired() -> AwsApiFault:
    return AwsApiFault("ExpiredToken", "The security token included in the request is expired", 403)


def of_credential(b: Backend, cred: Credential) -> Principal:
    if cred.role_name is not None:
        role = b.state.roles.get(name=cred.role_name)
        if role is None:
            raise invalid_token()  # the role was deleted: its sessions stop working
        session = cred.session_name or "session"
        return Principal(PrincipalKind.ROLE_SESSION,
                         arn=f"arn:aws:sts::{b.account_id}:assumed-role/{role.name}/{session}",
                         principal_arn=b.arn("role", role.path, role.name),
                         user_id=f"{role.role_id}:{session}", role=role, credential=cred)
    if cred.user_name is None:
        return Principal(PrincipalKind.ROOT, b.user_arn(None), b.user_arn(None), b.account_id,
                         credential=cred)
    user = b.state.users.get(name=cred.user_name)
    if user is None:
        raise invalid_token()
    arn = b.user_arn(user)
    return Principal(PrincipalKind.USER, arn, arn, user.user_id, user=user, credential=cred)


def authenticate(b: Backend, req: HttpRequest, signed: sigv4.Signed) -> Principal:
    """Check ``signed`` against the stored credentials; the calling principal."""
    cred = b.state.credentials.get(access_key_id=signed.access_key_id)
    if cred is None or cred.status != "Active":
        raise invalid_token()
    if cred.is_session:
        assert cred.session_token is not None
        if signed.session_token is None or not hmac.compare_digest(signed.session_token, cred.session_token):
            raise invalid_token()
    elif signed.session_token is not None:
        raise invalid_token()
    sigv4.check_time(signed, b.wall.now())
    sigv4.verify(req, signed, cred.secret)
    if cred.expires is not None and cred.expires <= b.now():
        raise expired()
    return of_credential(b, cred)
