"""The simulated account behind the endpoint: IAM bookkeeping + the verifier, one clock.

:class:`Backend` resolves who is calling (from the SigV4 access key id), hands every code to
:class:`tokens.verifier.Verifier` and keeps the MFA context of issued sessions queryable, e.g.
as a :class:`tokens.policy.RequestContext` for the policy evaluator.

Callers: an access key issued by this endpoint (CreateAccessKey, or session credentials from
GetSessionToken) is that user's; any other key (boto3's dummy ``testing`` keys) is the account
root, as a script with real root keys would be.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..clock import Clock, SystemClock
from ..policy import Principal, RequestContext
from ..verifier import Policy as VerifierPolicy
from ..verifier import SQLiteStore, Verifier
from .errors import ApiError, AwsServerError, missing, validation
from .protocol import QueryRequest
from .state import Key, State, User

DEFAULT_ACCOUNT = "123456789012"
_NAME = re.compile(r"[\w+=,.@-]+")
_ALNUM = string.ascii_uppercase + string.digits


def random_id(prefix: str, n: int = 16) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(n))


@dataclass(frozen=True)
class Caller:
    key: Key | None  # None: a key this endpoint did not issue (treated as the root user)
    user: User | None  # None: the account root

    @property
    def is_session(self) -> bool:
        return self.key is not None and self.key.is_session


class Backend:
    """One simulated AWS account stored in one SQLite file."""

    def __init__(self, db: str | Path, *, account_id: str = DEFAULT_ACCOUNT, clock: Clock | None = None,
                 verifier_policy: VerifierPolicy | None = None) -> None:
        if not re.fullmatch(r"\d{12}", account_id):
            raise AwsServerError(f"the account id must be 12 digits, not {account_id!r}")
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()
        self.store = SQLiteStore(db)  # first: creates the file 0600 (it holds seeds)
        self.verifier = Verifier(self.store, verifier_policy or VerifierPolicy(), clock=self.clock)
        self.state = State(db)

    def close(self) -> None:
        self.state.close()
        self.store.close()

    def now(self) -> float:
        return self.clock.now()

    # -- names and ARNs
    def user_arn(self, user: User | None) -> str:
        if user is None:
            return f"arn:aws:iam::{self.account_id}:root"
        return f"arn:aws:iam::{self.account_id}:user{user.path}{user.name}"

    def mfa_arn(self, path: str, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:mfa{path}{name}"

    @staticmethod
    def required(req: QueryRequest, name: str) -> str:
        v = req.get(name)
        if v is None:
            raise missing(name[0].lower() + name[1:])
        return v

    @staticmethod
    def check_name(value: str, member: str, max_len: int) -> str:
        if not 1 <= len(value) <= max_len:
            raise validation(value, member, f"Member must have length less than or equal to {max_len}")
        if not _NAME.fullmatch(value):
            raise validation(value, member, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
        return value

    @staticmethod
    def check_path(value: str) -> str:
        if not (value.startswith("/") and value.endswith("/")) or len(value) > 512:
            raise validation(value, "path", "Member must satisfy regular expression pattern: "
                                            "(\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)")
        return value

    @staticmethod
    def check_code(value: str, member: str) -> str:
        if not re.fullmatch(r"\d{6}", value):
            raise validation(value, member, "Member must satisfy regular expression pattern: [\\d]+ "
                                            "and have length 6")
        return value

    # -- callers
    def caller(self, req: QueryRequest) -> Caller:
        if not req.access_key_id:
            return Caller(None, None)
        key = self.state.key(req.access_key_id)
        if key is None:
            return Caller(None, None)
        if key.is_session and key.expires is not None and key.expires <= self.now():
            raise ApiError("ExpiredToken", "The security token included in the request is expired", 403)
        user = self.state.user(key.user_name) if key.user_name else None
        return Caller(key, user)

    def user_or_caller(self, req: QueryRequest, caller: Caller) -> User | None:
        """The ``UserName`` parameter's user (NoSuchEntity if unknown), else the caller."""
        from .errors import no_such_user

        name = req.get("UserName")
        if name is None:
            return caller.user
        user = self.state.user(name)
        if user is None:
            raise no_such_user(name)
        return user

    def issue_key(self, user: User | None, *, session: bool = False, expires: float | None = None,
                  mfa_serial: str | None = None, mfa_auth_time: float | None = None) -> Key:
        token = base64.b64encode(secrets.token_bytes(96)).decode("ascii") if session else None
        key = Key(access_key_id=random_id("ASIA" if session else "AKIA"),
                  secret=base64.b64encode(secrets.token_bytes(30)).decode("ascii"),
                  user_name=user.name if user else None, session_token=token, expires=expires,
                  mfa_serial=mfa_serial, mfa_auth_time=mfa_auth_time, created=self.now())
        self.state.add_key(key)
        return key

    # -- MFA context of credentials (for policies)
    def mfa_context(self, access_key_id: str, at: float | None = None) -> dict[str, Any]:
        """``present`` None for long-term keys (the key is absent), else bool; ``age`` in seconds."""
        now = self.now() if at is None else at
        key = self.state.key(access_key_id)
        if key is None or not key.is_session:
            return {"present": None, "auth_time": None, "age": None, "session": False,
                    "user": key.user_name if key else None}
        present = key.mfa_auth_time is not None
        age = max(0.0, now - key.mfa_auth_time) if key.mfa_auth_time is not None else None
        return {"present": present, "auth_time": key.mfa_auth_time, "age": age, "session": True,
                "user": key.user_name, "mfa_serial": key.mfa_serial, "expires": key.expires,
                "expired": key.expires is not None and key.expires <= now}

    def request_context(self, access_key_id: str, action: str, resource: str = "*",
                        at: float | None = None) -> RequestContext:
        """What IAM would evaluate for ``action`` made with these credentials."""
        ctx = self.mfa_context(access_key_id, at)
        principal = Principal.user(ctx["user"], self.account_id) if ctx["user"] else None
        return RequestContext.for_principal(action, resource, principal,
                                            mfa_present=ctx["present"], mfa_age=ctx["age"])
