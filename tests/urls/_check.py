"""Independent checks shared by the URL tests: pyotp for OTP codes, python-fido2 for assertions."""

from __future__ import annotations

from typing import cast

import pyotp

from tokens.device import (
    Authentication,
    Enrollment,
    Fido2Authentication,
    Fido2Enrollment,
    OtpAuthentication,
    OtpEnrollment,
)


def otp_from(enr: Enrollment) -> pyotp.TOTP | pyotp.HOTP:
    assert isinstance(enr, OtpEnrollment), "an OTP enrollment carries its otpauth URI"
    return cast("pyotp.TOTP | pyotp.HOTP", pyotp.parse_uri(enr.otpauth_uri))


def totp_from(enr: Enrollment) -> pyotp.TOTP:
    otp = otp_from(enr)
    assert isinstance(otp, pyotp.TOTP)
    return otp


def otp_ok(enr: Enrollment, auth: Authentication) -> bool:
    """Does ``auth.code`` match what pyotp computes for the enrolled secret?"""
    otp = otp_from(enr)
    assert isinstance(auth, OtpAuthentication)
    if isinstance(otp, pyotp.TOTP):
        assert auth.device_time is not None
        return bool(auth.code == otp.at(int(auth.device_time)))
    return bool(auth.code == otp.generate_otp(auth.counter))  # at() would add initial_count


def assertion_ok(enr: Enrollment, auth: Authentication) -> bool:
    """Does the assertion verify under the enrolled COSE public key (python-fido2's own COSE code)?"""
    from fido2.cose import CoseKey
    from fido2.webauthn import AuthenticatorData

    if not isinstance(enr, Fido2Enrollment) or not isinstance(auth, Fido2Authentication):
        return False
    try:
        CoseKey.parse(dict(enr.public_key)).verify(auth.authenticator_data + auth.client_data_hash,
                                                     auth.signature)
    except Exception:
        return False
    data = AuthenticatorData(auth.authenticator_data)
    return bool(data.is_user_present()) and auth.credential_id == enr.credential_id
