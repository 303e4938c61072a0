"""The software FIDO2 authenticator behind the Device interface, checked with python-fido2's COSE
verification (an independent implementation): signature over authenticatorData || clientDataHash,
rpIdHash of the enrolled RP, and the user-present flag."""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from fido2.cose import CoseKey
from fido2.webauthn import AuthenticatorData

from tests.device_factories import DeviceFactory
from tokens.clock import ManualClock
from tokens.device import (
    Authentication,
    AuthRequest,
    Enrollment,
    EnrollRequest,
    Fido2Authentication,
    Fido2Enrollment,
)
from tokens.fido2 import Alg, Authenticator, AuthenticatorState, SoftCtapDevice
from tokens.fido2.device import Fido2Device


def _check(enr: Enrollment, auth: Authentication, clock: ManualClock) -> bool:
    assert isinstance(enr, Fido2Enrollment) and isinstance(auth, Fido2Authentication)
    ad = AuthenticatorData(auth.authenticator_data)
    if ad.rp_id_hash != hashlib.sha256(enr.rp_id.encode()).digest() or not ad.is_user_present():
        return False
    if auth.credential_id != enr.credential_id:
        return False
    try:
        CoseKey.parse(enr.public_key).verify(auth.authenticator_data + auth.client_data_hash, auth.signature)
    except InvalidSignature:
        return False
    return True


def _soft(clock: ManualClock, alg: Alg, attestation: str, pin: str | None = None) -> Fido2Device:
    a = Authenticator(AuthenticatorState.new(algorithms=[alg], attestation=attestation), clock=clock)
    dev = SoftCtapDevice(a)
    if pin:
        from fido2.ctap2.base import Ctap2
        from fido2.ctap2.pin import ClientPin

        ClientPin(Ctap2(dev)).set_pin(pin)
    return Fido2Device(dev, pin=pin, model="tokensim soft FIDO2")


def _auth_request(e: Enrollment, clock: ManualClock) -> AuthRequest:
    assert isinstance(e, Fido2Enrollment)
    return AuthRequest(at=clock.now(), rp_id=e.rp_id, credential_id=e.credential_id)


FACTORIES = [
    DeviceFactory("fido2-soft-es256", lambda c: _soft(c, Alg.ES256, "none"), _check,
                  enroll_request=EnrollRequest(account="alice", rp_id="example.com"),
                  auth_request=_auth_request, step_seconds=1.0),
    DeviceFactory("fido2-soft-eddsa-resident-pin", lambda c: _soft(c, Alg.EDDSA, "self", pin="1234"), _check,
                  enroll_request=EnrollRequest(account="bob", rp_id="example.org", resident=True),
                  auth_request=_auth_request, step_seconds=1.0),
]
