"""The one enrollment routine: register a token (if new) and enable it with two consecutive codes.

Used by ``tokensim verifier enroll`` and the service's ``POST /v1/enroll``, so both behave the
same way:

- a new serial is registered ``pending`` from the token's parameters, then enabled;
- a serial that is already pending *for the same token* (same secret, compared in constant time,
  and the same OTP parameters) is simply enabled again — a failed enrollment can be retried;
- anything else (an active or disabled credential, or a different token under that serial) is
  :class:`~tokens.verifier.errors.CredentialExistsError`: enrollment never overwrites a credential.

A concurrent enrollment of the same serial is handled: the loser of the insert race falls into the
"already pending" case and the store's compare-and-set ``activate`` lets exactly one enable win.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from ..errors import InputError, InvalidURIError
from ..otp import Algorithm
from ..uri import parse_otpauth
from .core import Verifier
from .errors import CredentialExistsError
from .model import Credential, Kind, Status, SyncResult


@dataclass(frozen=True)
class TokenParams:
    """What the verifier must know about a token to check its codes."""

    secret: bytes
    kind: Kind = Kind.TOTP
    algorithm: Algorithm = Algorithm.SHA1
    digits: int = 6
    period: int = 30
    t0: float = 0.0
    counter: int = 0
    issuer: str = ""
    account: str = ""

    @classmethod
    def from_uri(cls, uri: str) -> TokenParams:
        """From an ``otpauth://`` URI (InvalidURIError / InvalidSecretError when it does not parse)."""
        try:
            u = parse_otpauth(uri)
        except InputError:
            raise
        except ValueError as e:  # urllib's own errors (e.g. a bracketed host that is no IPv6)
            raise InvalidURIError(f"not a valid otpauth URI: {e}") from None
        return cls(secret=u.secret, kind=Kind(u.type), algorithm=Algorithm.parse(u.algorithm),
                   digits=u.digits, period=u.period, counter=u.counter, issuer=u.issuer, account=u.account)

    def matches(self, cred: Credential) -> bool:
        """Is ``cred`` this token?  The secret is compared in constant time."""
        same_secret = hmac.compare_digest(cred.secret, self.secret)
        same_params = (cred.kind is Kind(self.kind) and cred.algorithm is Algorithm.parse(self.algorithm)
                       and cred.digits == self.digits
                       and (cred.kind is Kind.HOTP or (cred.period == self.period and cred.t0 == self.t0)))
        return same_secret and same_params


def register(verifier: Verifier, serial: str, params: TokenParams, *, status: Status = Status.PENDING,
             at: float | None = None) -> Credential:
    """Register ``params`` under ``serial`` (CredentialExistsError if the serial is taken)."""
    return verifier.register(serial, params.secret, kind=params.kind, algorithm=params.algorithm,
                             digits=params.digits, period=params.period, t0=params.t0, counter=params.counter,
                             issuer=params.issuer, account=params.account, status=status, at=at)


def enroll(verifier: Verifier, serial: str, params: TokenParams, code1: str, code2: str, *,
           at: float | None = None) -> SyncResult:
    """Register ``serial`` (unless it is already pending for this very token) and enable it.

    Returns the enable result (a failed enable leaves the credential pending, so the call can be
    repeated); raises CredentialExistsError when the serial belongs to something else.
    """
    existing = verifier.store.get(serial)
    if existing is None:
        try:
            register(verifier, serial, params, at=at)
        except CredentialExistsError:  # a concurrent enrollment of the same serial got there first
            existing = verifier.store.get(serial)
    if existing is not None and (existing.status is not Status.PENDING or not params.matches(existing)):
        raise CredentialExistsError(f"credential {serial!r} already exists")
    return verifier.enable(serial, code1, code2, at=at)
