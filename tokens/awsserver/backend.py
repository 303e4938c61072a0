"""The simulated account: IAM bookkeeping (:mod:`.state`), the MFA verifier, ARNs, credentials, clocks.

Two clocks: ``clock`` is the account's time (MFA codes, session expiry, MultiFactorAuthAge,
aws:CurrentTime; a ManualClock under ``--clock manual``), ``wall`` the clock clients sign
requests with (SigV4 timestamps are checked against it).

The administrator: on first start the account gets an IAM user ``admin`` with the AWS managed
policy AdministratorAccess and one access key (or the one given), shown in the ready line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
from pathlib import Path

from ..clock import Clock, SystemClock
from ..policy import RequestContext
from ..verifier import Policy as VerifierPolicy
from ..verifier import SQLiteStore, Verifier
from .errors import AwsServerError
from .records import Attachment, Credential, Kind, User
from .state import State

DEFAULT_ACCOUNT = "123456789012"
ADMIN_USER = "admin"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
_ALNUM = string.ascii_uppercase + string.digits
_PBKDF2_ROUNDS = 100_000


def random_id(prefix: str, n: int = 16) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(n))


def hash_password(password: str, rounds: int = _PBKDF2_ROUNDS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, rounds)
    return f"pbkdf2_sha256${rounds}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, rounds, salt, want = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), bytes.fromhex(salt),
                                  int(rounds))
    except (ValueError, UnicodeError):
        return False
    return hmac.compare_digest(got.hex(), want)


class Backend:
    """One simulated AWS account stored in one SQLite file."""

    def __init__(self, db: str | Path, *, account_id: str = DEFAULT_ACCOUNT, clock: Clock | None = None,
                 wall: Clock | None = None, verifier_policy: VerifierPolicy | None = None,
                 admin_key: tuple[str, str] | None = None) -> None:
        if not re.fullmatch(r"\d{12}", account_id):
            raise AwsServerError(f"the account id must be 12 digits, not {account_id!r}")
        self.account_id = account_id
        self.clock: Clock = clock or SystemClock()
        self.wall: Clock = wall or SystemClock()
        self.store = SQLiteStore(db)  # first: creates the file 0600 (it holds seeds and secrets)
        self.verifier = Verifier(self.store, verifier_policy or VerifierPolicy(), clock=self.clock)
        self.state = State(db)
        self.admin = self._bootstrap_admin(admin_key)

    def close(self) -> None:
        self.state.close()
        self.store.close()

    def now(self) -> float:
        return self.clock.now()

    # -- names and ARNs
    def arn(self, kind: str, path: str, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:{kind}{path}{name}"

    def user_arn(self, user: User | None) -> str:
        if user is None:
            return f"arn:aws:iam::{self.account_id}:root"
        return self.arn("user", user.path, user.name)

    def mfa_arn(self, path: str, name: str) -> str:
        return self.arn("mfa", path, name)

    def user_arn_by_name(self, name: str) -> str:
        u = self.state.users.get(name=name)
        return self.user_arn(u) if u else self.arn("user", "/", name)

    def request_context(self, access_key_id: str, action: str, resource: str = "*",
                        at: float | None = None) -> RequestContext:
        """What the policy engine evaluates for ``action`` made with these credentials (unknown keys:
        long-term keys of nobody in particular)."""
        from . import context, engine
        from .principal import of_credential

        cred = self.state.credentials.get(access_key_id=access_key_id)
        if cred is None:
            return RequestContext.long_term_keys(action, resource)
        p = of_credential(self, cred)
        keys = context.build(p, self.account_id, self.now() if at is None else at)
        return RequestContext(action, resource, engine.principal_of(p, self.account_id), keys)

    # -- credentials
    def issue(self, user: User | None, *, session: bool = False, expires: float | None = None,
              mfa_serial: str | None = None, mfa_auth_time: float | None = None,
              role_name: str | None = None, session_name: str | None = None,
              fixed: tuple[str, str] | None = None) -> Credential:
        token = base64.b64encode(secrets.token_bytes(96)).decode("ascii") if session else None
        akid, secret = fixed or (random_id("ASIA" if session else "AKIA"),
                                 base64.b64encode(secrets.token_bytes(30)).decode("ascii"))
        cred = Credential(access_key_id=akid, secret=secret, user_name=user.name if user else None,
                          created=self.now(), session_token=token, expires=expires, mfa_serial=mfa_serial,
                          mfa_auth_time=mfa_auth_time, role_name=role_name, session_name=session_name)
        if not self.state.credentials.insert(cred):
            raise AwsServerError(f"access key id {akid} exists already")
        return cred

    def _bootstrap_admin(self, admin_key: tuple[str, str] | None) -> Credential:
        akid = self.state.setting("admin_access_key_id")
        if akid is not None:
            cred = self.state.credentials.get(access_key_id=akid)
            if cred is not None and (admin_key is None or admin_key == (cred.access_key_id, cred.secret)):
                return cred
        user = self.state.users.get(name=ADMIN_USER)
        if user is None:
            user = User(ADMIN_USER, random_id("AIDA", 17), "/", self.now())
            self.state.users.insert(user)
            self.state.attached.insert(Attachment(Kind.USER, ADMIN_USER, ADMIN_POLICY_ARN))
        if admin_key is not None:
            existing = self.state.credentials.get(access_key_id=admin_key[0])
            if existing is not None:
                if existing.user_name != ADMIN_USER or existing.secret != admin_key[1]:
                    raise AwsServerError(f"access key id {admin_key[0]} belongs to someone else")
                cred = existing
            else:
                cred = self.issue(user, fixed=admin_key)
        else:
            cred = self.issue(user)
        self.state.set_setting("admin_access_key_id", cred.access_key_id)
        return cred
