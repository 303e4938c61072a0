"""authenticatorBioEnrollment (0x09, and its preview code 0x40) through python-fido2's FPBioEnrollment."""

from __future__ import annotations

import dataclasses

import pytest
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.bio import BioEnrollment, FPBioEnrollment
from fido2.ctap2.pin import ClientPin
from fido2.webauthn import UserVerificationRequirement

from tests.fido2.conftest import RelyingParty, client_for
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice, UvMode
from tokens.fido2.authenticator.limits import BIO_MAX_NAME, BIO_SAMPLES

PIN = "123456"


def bio(c: Ctap2) -> FPBioEnrollment:
    cp = ClientPin(c)
    return FPBioEnrollment(c, cp.protocol, cp.get_pin_token(PIN, ClientPin.PERMISSION.BIO_ENROLL))


def test_enroll_name_use_and_remove_a_finger(rp: RelyingParty) -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    c = Ctap2(SoftCtapDevice(a))
    assert c.info.options["uv"] is False and c.info.options["bioEnroll"] is False
    ClientPin(c).set_pin(PIN)
    b = bio(c)
    info = b.get_fingerprint_sensor_info()
    assert info[BioEnrollment.RESULT.MAX_SAMPLES_REQUIRED] == BIO_SAMPLES
    assert b.enumerate_enrollments() == {}
    context, template, captures = b.enroll(), None, 0
    while template is None:
        template = context.capture()
        captures += 1
    assert captures == BIO_SAMPLES and b.enumerate_enrollments() == {template: ""}
    b.set_name(template, "right thumb")
    assert b.enumerate_enrollments() == {template: "right thumb"}
    with pytest.raises(CtapError) as ei:
        b.set_name(template, "x" * (BIO_MAX_NAME + 1))
    assert ei.value.code == CtapError.ERR.INVALID_PARAMETER
    info2 = c.get_info()
    assert info2.options["uv"] is True and info2.options["bioEnroll"] is True and a.state.uv is UvMode.AUTO
    reg = rp.register(client_for(SoftCtapDevice(a), "wrong PIN: the finger is used"),
                      uv=UserVerificationRequirement.REQUIRED)
    assert reg.is_user_verified()
    bio(c).remove_enrollment(template)
    assert c.get_info().options["uv"] is False and a.state.bio_templates == {}


def test_bio_needs_the_be_permission_and_reset_forgets_fingers() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"), reset_window=None)
    c = Ctap2(SoftCtapDevice(a))
    ClientPin(c).set_pin(PIN)
    cp = ClientPin(c)
    wrong = FPBioEnrollment(c, cp.protocol, cp.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL))
    with pytest.raises(CtapError) as ei:
        wrong.enumerate_enrollments()
    assert ei.value.code == CtapError.ERR.PIN_AUTH_INVALID
    context = bio(c).enroll()
    while context.capture() is None:
        pass
    c.reset()
    assert a.state.bio_templates == {} and c.get_info().options["uv"] is False


def test_preview_code_0x40_and_models_without_a_sensor() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    c = Ctap2(SoftCtapDevice(a))
    ClientPin(c).set_pin(PIN)
    options = {k: v for k, v in c.info.options.items() if k != "bioEnroll"}
    c._info = dataclasses.replace(c.info, versions=["FIDO_2_0", "FIDO_2_1_PRE"],
                                  options={**options, "userVerificationMgmtPreview": False})
    assert bio(c).get_fingerprint_sensor_info()  # python-fido2 sends 0x40 for a preview key
    yk = Ctap2(SoftCtapDevice(Authenticator(AuthenticatorState.new(model="yubikey5"))))
    assert "bioEnroll" not in yk.info.options and "uv" not in yk.info.options
    with pytest.raises(CtapError) as ei:
        yk.send_cbor(Ctap2.CMD.BIO_ENROLLMENT, {6: True})
    assert ei.value.code == CtapError.ERR.INVALID_COMMAND
    bio_key = Ctap2(SoftCtapDevice(Authenticator(AuthenticatorState.new(model="yubikey-bio"))))
    assert bio_key.info.options["bioEnroll"] is True and bio_key.info.options["uv"] is True
