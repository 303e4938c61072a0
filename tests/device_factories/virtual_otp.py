"""Virtual TOTP/HOTP devices, checked with pyotp (an independent implementation)."""

from __future__ import annotations

import pyotp

from tests.device_factories import DeviceFactory
from tokens.clock import DriftModel, ManualClock
from tokens.device import Authentication, AuthRequest, Enrollment, OtpAuthentication, OtpEnrollment
from tokens.virtual import VirtualHOTP, VirtualTOTP


def _check_totp(enr: Enrollment, auth: Authentication, clock: ManualClock) -> bool:
    assert isinstance(enr, OtpEnrollment) and isinstance(auth, OtpAuthentication)
    assert auth.device_time is not None
    totp = pyotp.parse_uri(enr.otpauth_uri)
    return bool(totp.verify(auth.code, for_time=int(auth.device_time)))


def _check_hotp(enr: Enrollment, auth: Authentication, clock: ManualClock) -> bool:
    assert isinstance(enr, OtpEnrollment) and isinstance(auth, OtpAuthentication)
    hotp = pyotp.parse_uri(enr.otpauth_uri)
    return bool(hotp.verify(auth.code, auth.counter))


FACTORIES = [
    DeviceFactory("totp-sha1", lambda c: VirtualTOTP(reference=c), _check_totp),
    DeviceFactory("totp-sha512-8-drift",
                  lambda c: VirtualTOTP(algorithm="SHA512", digits=8, period=60, reference=c,
                                        drift=DriftModel(ppm=35, offset=-12, epoch=c.now())),
                  _check_totp, step_seconds=60),
    DeviceFactory("hotp-sha256", lambda c: VirtualHOTP(algorithm="SHA256", digits=7), _check_hotp,
                  auth_request=lambda e, c: AuthRequest()),
]
