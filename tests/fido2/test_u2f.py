"""U2F / CTAP1 through python-fido2's Ctap1 (register, authenticate, check-only, errors)."""

from __future__ import annotations

import pytest
from fido2.ctap1 import APDU, ApduError, Ctap1

from tokens.fido2 import Authenticator, AuthenticatorState, Deny, SoftCtapDevice

APP, CHAL = b"\xaa" * 32, b"\xbb" * 32


@pytest.mark.parametrize("attestation", ["self", "batch"])
def test_register_and_authenticate(attestation: str) -> None:
    a = Authenticator(AuthenticatorState.new(attestation=attestation))
    ctap1 = Ctap1(SoftCtapDevice(a))
    assert ctap1.get_version() == "U2F_V2"
    reg = ctap1.register(CHAL, APP)
    reg.verify(APP, CHAL)  # attestation signature over the registration
    s1 = ctap1.authenticate(CHAL, APP, reg.key_handle)
    s1.verify(APP, CHAL, reg.public_key)
    s2 = ctap1.authenticate(CHAL, APP, reg.key_handle)
    assert s2.counter == s1.counter + 1 and s1.user_presence & 1


def test_check_only_wrong_app_and_denied() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    ctap1 = Ctap1(SoftCtapDevice(a))
    reg = ctap1.register(CHAL, APP)
    with pytest.raises(ApduError) as ei:
        ctap1.authenticate(CHAL, APP, reg.key_handle, check_only=True)
    assert ei.value.code == APDU.USE_NOT_SATISFIED  # valid handle: "conditions not satisfied"
    with pytest.raises(ApduError) as ei:
        ctap1.authenticate(CHAL, b"\xcc" * 32, reg.key_handle)
    assert ei.value.code == APDU.WRONG_DATA
    a.presence = Deny()
    with pytest.raises(ApduError) as ei:
        ctap1.authenticate(CHAL, APP, reg.key_handle)
    assert ei.value.code == APDU.USE_NOT_SATISFIED


def test_malformed_apdus() -> None:
    dev = SoftCtapDevice(Authenticator(AuthenticatorState.new(attestation="none")))
    assert dev.call(0x03, b"\x00") == b"\x67\x00"
    ctap1 = Ctap1(dev)
    for cla, ins, code in ((0x80, 0x03, 0x6E00), (0x00, 0x55, 0x6D00)):
        with pytest.raises(ApduError) as ei:
            ctap1.send_apdu(cla, ins)
        assert ei.value.code == code
    with pytest.raises(ApduError) as ei:
        ctap1.send_apdu(0, 0x01, data=b"short")
    assert ei.value.code == 0x6700  # wrong length


def test_u2f_key_handle_works_with_ctap2() -> None:
    """A U2F registration is usable through CTAP2 getAssertion with rpIdHash = appid hash."""
    import hashlib

    from fido2.ctap2.base import Ctap2

    a = Authenticator(AuthenticatorState.new(attestation="none"))
    dev = SoftCtapDevice(a)
    app = hashlib.sha256(b"https://legacy.example").digest()
    reg = Ctap1(dev).register(CHAL, app)
    allow = [{"id": reg.key_handle, "type": "public-key"}]
    resp = Ctap2(dev).get_assertion("https://legacy.example", CHAL, allow)
    from fido2.cose import ES256

    ES256.from_ctap1(reg.public_key).verify(resp.auth_data + CHAL, resp.signature)
