"""Devices opened by URL (tokens.open.open_device) in the conformance suite.

Each factory opens a fresh device through its URL scheme, so the wrappers open_device returns
(the store-backed ``virtual:`` device, the serial driver with its pty simulator, the FIDO2 adapter
with the interaction hook) are held to the same contract as the devices themselves.  Checks are
independent: pyotp for OTP codes, python-fido2's COSE verification for assertions.
"""

from __future__ import annotations

import itertools

from tests.device_factories import DeviceFactory
from tests.urls._check import assertion_ok, otp_ok
from tokens.clock import ManualClock
from tokens.device import Authentication, AuthRequest, Device, Enrollment, EnrollRequest
from tokens.fido2 import state as fido2_state
from tokens.open import open_device
from tokens.store import DeviceStore
from tokens.virtual import VirtualHOTP, VirtualTOTP

_n = itertools.count()


def _virtual_totp(clock: ManualClock) -> Device:
    name = f"url-totp-{next(_n)}"
    DeviceStore(reference=clock).add(name, VirtualTOTP(reference=clock))
    return open_device(f"virtual:{name}", reference=clock)


def _virtual_hotp(clock: ManualClock) -> Device:
    name = f"url-hotp-{next(_n)}"
    DeviceStore().add(name, VirtualHOTP(counter=3))
    return open_device(f"virtual:{name}", reference=clock)


def _fido2_sim(clock: ManualClock) -> Device:
    name = f"url-fido2-{next(_n)}"
    fido2_state.create(fido2_state.AuthenticatorState.new(name=name))
    return open_device(f"fido2-sim:{name}", reference=clock)


def _otp(enr: Enrollment, auth: Authentication, clock: ManualClock) -> bool:
    return otp_ok(enr, auth)


def _fido2(enr: Enrollment, auth: Authentication, clock: ManualClock) -> bool:
    return assertion_ok(enr, auth)


FACTORIES = [
    DeviceFactory("url-virtual-totp", _virtual_totp, _otp),
    DeviceFactory("url-virtual-hotp", _virtual_hotp, _otp, auth_request=lambda e, c: AuthRequest()),
    DeviceFactory("url-totp", lambda c: open_device("totp:?drift_ppm=-45&offset=8&algorithm=SHA512",
                                                    reference=c), _otp),
    DeviceFactory("url-sim-serial", lambda c: open_device("sim-serial:?slots=2&drift_ppm=30", reference=c),
                  _otp, enroll_request=EnrollRequest(slot=1),
                  auth_request=lambda e, c: AuthRequest(at=c.now(), slot=1)),
    DeviceFactory("url-fido2-sim", _fido2_sim, _fido2, enroll_request=EnrollRequest(rp_id="example.com"),
                  auth_request=lambda e, c: AuthRequest(rp_id="example.com", credential_id=e.credential_id)),
]
