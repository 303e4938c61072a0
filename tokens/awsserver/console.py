"""Console sign-in, simulated: a user's password (and MFA code when a device is assigned) for
console session credentials, as the AWS console holds them.

A console session carries ``aws:MultiFactorAuthPresent`` (false without MFA) and, while the
login profile has ``PasswordResetRequired``, may only change the password — so a policy that
denies ``iam:ChangePassword`` without MFA really locks a new user out.
"""

from __future__ import annotations

from typing import Any

from ..errors import TokensimError
from .backend import Backend, check_password
from .context import iso

CONSOLE_SESSION = 12 * 3600


class SigninError(TokensimError):
    """Wrong user, password or MFA code (one message for all, as the console says)."""


def signin(b: Backend, data: dict[str, Any]) -> dict[str, Any]:
    user_name, password, code = data.get("user"), data.get("password"), data.get("mfa_code")
    if not isinstance(user_name, str) or not isinstance(password, str) or len(password) > 128:
        raise SigninError("expected {\"user\": NAME, \"password\": PASSWORD[, \"mfa_code\": CODE]}")
    user = b.state.users.get(name=user_name)
    lp = b.state.logins.get(user_name=user_name) if user else None
    if user is None or lp is None or not check_password(password, lp.password_hash):
        raise SigninError("Your authentication information is incorrect. Please try again.")
    now = b.now()
    devices = b.state.devices.all(user_name=user_name)
    serial, auth_time = None, None
    if devices:
        if not isinstance(code, str) or not (len(code) == 6 and code.isascii() and code.isdigit()):
            raise SigninError("an MFA code is required for this user")
        for d in devices:
            res = b.verifier.verify(d.serial, code, at=now)
            if res.ok:
                serial, auth_time = d.serial, (res.auth_time if res.auth_time is not None else now)
                break
        if serial is None:
            raise SigninError("Your authentication information is incorrect. Please try again.")
    cred = b.issue(
        user, session=True, expires=now + CONSOLE_SESSION, mfa_serial=serial, mfa_auth_time=auth_time
    )
    b.state.credentials.update({"origin": "console"}, access_key_id=cred.access_key_id)
    return {
        "AccessKeyId": cred.access_key_id,
        "SecretAccessKey": cred.secret,
        "SessionToken": cred.session_token,
        "Expiration": iso(now + CONSOLE_SESSION),
        "PasswordResetRequired": lp.reset_required,
    }
