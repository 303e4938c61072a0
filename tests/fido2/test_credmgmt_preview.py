"""Credential management under its CTAP 2.1-preview command code 0x41 (what libfido2 < 1.15 sends)."""

from __future__ import annotations

import dataclasses

from fido2.ctap2.base import Ctap2
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin

from tests.fido2.conftest import Recording, RelyingParty, client_for, set_pin
from tokens.fido2 import Authenticator, SoftCtapDevice


def test_python_fido2_credman_over_the_preview_command(auth: Authenticator, rp: RelyingParty) -> None:
    dev = SoftCtapDevice(auth)
    set_pin(dev, "1234")
    rp.register(client_for(dev, "1234"), rk=True, name="alice")
    spy = Recording(dev)
    ctap = Ctap2(spy)
    # what a CTAP 2.1-preview key (YubiKey 5 firmware 5.2-5.4) advertises: python-fido2 then uses 0x41
    options = {k: v for k, v in ctap.info.options.items() if k != "credMgmt"}
    ctap._info = dataclasses.replace(ctap.info, versions=["U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"],
                                     options={**options, "credentialMgmtPreview": True})
    pin = ClientPin(ctap)
    token = pin.get_pin_token("1234", ClientPin.PERMISSION.CREDENTIAL_MGMT)
    cm = CredentialManagement(ctap, pin.protocol, token)
    assert cm.get_metadata()[CredentialManagement.RESULT.EXISTING_CRED_COUNT] == 1
    rps = cm.enumerate_rps()
    assert [r[CredentialManagement.RESULT.RP]["id"] for r in rps] == ["example.com"]
    creds = cm.enumerate_creds(rps[0][CredentialManagement.RESULT.RP_ID_HASH])
    assert creds[0][CredentialManagement.RESULT.USER]["name"] == "alice"
    cm.delete_cred(creds[0][CredentialManagement.RESULT.CREDENTIAL_ID])
    assert cm.get_metadata()[CredentialManagement.RESULT.EXISTING_CRED_COUNT] == 0
    assert Ctap2.CMD.CREDENTIAL_MGMT_PRE in spy.commands and Ctap2.CMD.CREDENTIAL_MGMT not in spy.commands


def test_preview_and_final_codes_answer_alike(auth: Authenticator) -> None:
    assert auth.process(bytes([Ctap2.CMD.CREDENTIAL_MGMT_PRE, 0xA1, 0x01, 0x01])) == \
        auth.process(bytes([Ctap2.CMD.CREDENTIAL_MGMT, 0xA1, 0x01, 0x01]))  # PUAT_REQUIRED both
