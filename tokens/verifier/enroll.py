"""The one enrollment routine: register a token (if new) and enable it with two consecutive codes.

Used by ``tokensim verifier enroll`` and the service's ``POST /v1/enroll``, so both behave the
same way:

- a new serial is registered ``pending`` from the token's parameters, then enabled;
- a serial that is already pending *for the same token* (same secret, compared in constant time,
  and the same OTP parameters) is simply enabled again — a failed enrollment can be retried;
- anything else (an active or disabled credential, or a different token under that serial) is
  :class:`~tokens.verifier.errors.CredentialExistsError`: enrollment never overwrites a credential.

The token is described by the one OTP record, :class:`~tokens.params.OtpParams` (an otpauth://
URI parsed by :func:`~tokens.uri.parse_otpauth` is one; so is ``Credential.params()``).

A concurrent enrollment of the same serial is handled: the loser of the insert race falls into the
"already pending" case and the store's compare-and-set ``activate`` lets exactly one enable win.
"""

from __future__ import annotations

import hmac

from ..params import OtpParams
from .core import Verifier
from .errors import CredentialExistsError
from .model import Credential, Status, SyncResult


def same_token(params: OtpParams, cred: Credential) -> bool:
    """Is ``cred`` the token ``params`` describes?  The secret is compared in constant time; issuer
    and account are labels and do not count, nor does an HOTP counter (it moves)."""
    same_secret = hmac.compare_digest(cred.secret, params.secret)
    same_params = (cred.kind.value == params.type.value and cred.algorithm is params.algorithm
                   and cred.digits == params.digits
                   and (not params.is_totp or (cred.period == params.period and cred.t0 == params.t0)))
    return same_secret and same_params


def register(verifier: Verifier, serial: str, params: OtpParams, *, status: Status = Status.PENDING,
             at: float | None = None) -> Credential:
    """Register ``params`` under ``serial`` (CredentialExistsError if the serial is taken)."""
    return verifier.register(serial, params.secret, **params.register_kwargs(), status=status, at=at)


def enroll(verifier: Verifier, serial: str, params: OtpParams, code1: str, code2: str, *,
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
    if existing is not None and (existing.status is not Status.PENDING or not same_token(params, existing)):
        raise CredentialExistsError(f"credential {serial!r} already exists")
    return verifier.enable(serial, code1, code2, at=at)
