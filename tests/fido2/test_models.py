"""Key models: getInfo, commands offered, quirks, attestation shape and the exported MDS3 statement
(checked with python-fido2's own metadata verifier)."""

from __future__ import annotations

import json

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from fido2.attestation import UntrustedAttestation
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin
from fido2.mds3 import MdsAttestationVerifier, MetadataBlobPayload, MetadataStatement
from fido2.server import Fido2Server
from fido2.webauthn import AttestationConveyancePreference, PublicKeyCredentialRpEntity

from tests.fido2.conftest import RelyingParty, client_for, set_pin
from tokens._cli.main import main
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice
from tokens.fido2.adapters import store
from tokens.fido2.authenticator import models


def ctap(model: str, **kw: object) -> Ctap2:
    return Ctap2(SoftCtapDevice(Authenticator(AuthenticatorState.new(model=model, **kw))))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_get_info_follows_the_model(name: str) -> None:
    m = models.get(name)
    info = ctap(name).get_info()
    assert info.versions == list(m.versions) and info.extensions == list(m.extensions)
    if m.aaguid is not None:
        assert bytes(info.aaguid) == m.aaguid.bytes
    assert info.max_msg_size == m.max_msg_size and info.firmware_version == m.firmware_version
    assert info.transports == list(m.transports) and info.pin_uv_protocols == list(m.pin_uv_protocols)
    assert [a["alg"] for a in info.algorithms] == [int(a) for a in m.algorithms]
    assert bool(info.options.get("credMgmt")) == ("FIDO_2_1" in m.versions)
    assert bool(info.options.get("uv")) == m.built_in_uv
    if "FIDO_2_1" in m.versions:
        assert info.remaining_disc_creds == m.capacity


def test_two_yubikeys_share_the_model_aaguid_generic_ones_do_not() -> None:
    assert ctap("yubikey5").info.aaguid == ctap("yubikey5").info.aaguid
    assert ctap("generic").info.aaguid != ctap("generic").info.aaguid


@pytest.mark.parametrize("name", ["generic", "yubikey5", "yubikey5-fw54"])
def test_get_pin_retries_without_pin_is_pin_not_set_like_a_yubikey(name: str) -> None:
    c = ctap(name)
    with pytest.raises(CtapError) as ei:
        ClientPin(c).get_pin_retries()
    assert ei.value.code == CtapError.ERR.PIN_NOT_SET
    ClientPin(c).set_pin("123456")
    assert ClientPin(c).get_pin_retries()[0] == 8


def test_ctap20_models_answer_retries_and_refuse_credential_management() -> None:
    c = ctap("solo")
    assert ClientPin(c).get_pin_retries()[0] == 8  # SoloKeys answer the count without a PIN
    for cmd in (Ctap2.CMD.CREDENTIAL_MGMT, Ctap2.CMD.CREDENTIAL_MGMT_PRE, Ctap2.CMD.LARGE_BLOBS):
        with pytest.raises(CtapError) as ei:
            c.send_cbor(cmd, {1: 1})
        assert ei.value.code == CtapError.ERR.INVALID_COMMAND


def test_preview_yubikey_is_managed_through_0x41_by_python_fido2(rp: RelyingParty) -> None:
    auth = Authenticator(AuthenticatorState.new(model="yubikey5-fw54"))
    dev = SoftCtapDevice(auth)
    set_pin(dev, "123456")
    rp.register(client_for(dev, "123456"), rk=True)
    c = Ctap2(dev)
    assert "credMgmt" not in c.info.options and c.info.options["credentialMgmtPreview"] is True
    with pytest.raises(CtapError):  # the final code is not offered by a preview key
        c.send_cbor(Ctap2.CMD.CREDENTIAL_MGMT, {1: 1})
    pin = ClientPin(c)
    cm = CredentialManagement(c, pin.protocol, pin.get_pin_token("123456"))
    assert cm.get_metadata()[CredentialManagement.RESULT.EXISTING_CRED_COUNT] == 1


def test_yubikey_bio_has_fingerprint_uv() -> None:
    info = ctap("yubikey-bio").info
    assert info.options["uv"] is True and info.uv_modality == models.UV_FINGERPRINT
    assert info.preferred_platform_uv_attempts == 3


def test_batch_certificate_has_the_model_subject_shape() -> None:
    st = AuthenticatorState.new(model="yubikey5", attestation="batch")
    assert st.batch is not None
    cert = x509.load_der_x509_certificate(st.batch.cert_der)
    subject = {a.oid: a.value for a in cert.subject}
    assert subject[NameOID.ORGANIZATION_NAME] == "Yubico AB"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "Authenticator Attestation"
    assert str(subject[NameOID.COMMON_NAME]).startswith("Yubico U2F EE Serial ")
    assert "tokensim" in cert.issuer.rfc4514_string()  # never claims the vendor's real CA


def _mds_verifier(statement: dict[str, object]) -> MdsAttestationVerifier:
    entry = {"aaguid": statement["aaguid"], "metadataStatement": statement,
             "statusReports": [{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2024-01-01"}],
             "timeOfLastStatusChange": "2024-01-01"}
    blob = MetadataBlobPayload.from_dict({"legalHeader": "test", "no": 1, "nextUpdate": "2030-01-01",
                                          "entries": [entry]})
    return MdsAttestationVerifier(blob)


def _register(name: str, verifier: MdsAttestationVerifier) -> object:
    auth = Authenticator(store.load(name))
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="Example"),
                         attestation=AttestationConveyancePreference.DIRECT, verify_attestation=verifier)
    opts, state = server.register_begin(
        {"id": b"user", "name": "alice"}, resident_key_requirement="discouraged",
        user_verification="discouraged")
    return server.register_complete(state, client_for(SoftCtapDevice(auth)).make_credential(opts.public_key))


def test_exported_mds_statement_lets_python_fido2_trust_the_batch(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fido2", "new", "yk", "--model", "yubikey5"]) == 0
    assert main(["fido2", "new", "yk2", "--model", "yubikey5"]) == 0
    capsys.readouterr()
    assert main(["fido2", "metadata", "--model", "yubikey5"]) == 0
    statement = json.loads(capsys.readouterr().out)
    parsed = MetadataStatement.from_dict(statement)  # python-fido2 parses it as MDS3
    assert str(parsed.aaguid) == "a25342c0-3cdc-4414-8e46-f4807fca511c"
    assert statement["authenticatorGetInfo"]["maxMsgSize"] == 1280
    verifier = _mds_verifier(statement)
    for name in ("yk", "yk2"):  # both chain to this home's yubikey5 CA
        auth_data = _register(name, verifier)
        assert auth_data.credential_data is not None  # type: ignore[attr-defined]
    entry = verifier.find_entry_by_aaguid(parsed.aaguid)  # type: ignore[arg-type]
    assert entry is not None and entry.metadata_statement is not None


def test_an_mds_statement_of_another_ca_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from tokens.fido2.adapters.metadata import statement
    from tokens.fido2.authenticator.attestation import AttestationCA

    assert main(["fido2", "new", "yk", "--model", "yubikey5"]) == 0
    other = statement(models.YUBIKEY5, AttestationCA.generate(models.YUBIKEY5.subject).cert_der)
    with pytest.raises(UntrustedAttestation):
        _register("yk", _mds_verifier(other))


def test_metadata_cli_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fido2", "metadata", "--model", "nope"]) != 0
    assert main(["fido2", "metadata", "--model", "generic"]) != 0
    assert main(["fido2", "new", "g"]) == 0
    assert main(["fido2", "metadata", "g"]) != 0  # self attestation: nothing to trust
    err = capsys.readouterr().err
    assert "unknown authenticator model" in err and "its own AAGUID" in err and "no batch" in err
    assert main(["fido2", "new", "gb", "--attestation", "batch"]) == 0
    capsys.readouterr()
    assert main(["fido2", "metadata", "gb"]) == 0
    stmt = json.loads(capsys.readouterr().out)
    assert stmt["aaguid"].replace("-", "") == store.load("gb").aaguid.hex()
