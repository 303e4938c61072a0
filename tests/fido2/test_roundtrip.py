"""Register + authenticate through Fido2Client and Fido2Server for every algorithm x attestation x
resident x user-verification combination, with attestation verified independently."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from fido2.attestation import AttestationVerifier, UntrustedAttestation
from fido2.attestation.base import AttestationType
from fido2.attestation.packed import PackedAttestation
from fido2.cose import CoseKey
from fido2.server import Fido2Server
from fido2.webauthn import AttestationObject, PublicKeyCredentialRpEntity, UserVerificationRequirement

from tests.fido2.conftest import RP_ID, RelyingParty, client_for, set_pin
from tokens.fido2 import Alg, Authenticator, AuthenticatorState, BatchAttestation, SoftCtapDevice
from tokens.fido2.authenticator.attestation import OID_AAGUID

UV = UserVerificationRequirement


class TrustCa(AttestationVerifier):
    def __init__(self, ca_der: bytes) -> None:
        super().__init__()
        self.ca_der = ca_der

    def ca_lookup(self, attestation_result, auth_data):  # type: ignore[no-untyped-def]
        return self.ca_der


@pytest.mark.parametrize("verification", ["none", "pin", "uv"])
@pytest.mark.parametrize("resident", [False, True], ids=["nonresident", "resident"])
@pytest.mark.parametrize("attestation", ["none", "self", "batch"])
@pytest.mark.parametrize("alg", [Alg.ES256, Alg.EDDSA, Alg.RS256], ids=["ES256", "EdDSA", "RS256"])
def test_register_and_login(alg: Alg, attestation: str, resident: bool, verification: str,
                            batch: BatchAttestation) -> None:
    st = AuthenticatorState.new(algorithms=[alg], attestation=attestation,
                                uv="auto" if verification == "uv" else "none")
    if attestation == "batch":
        st.batch = batch
        st.aaguid = batch_aaguid
    dev = SoftCtapDevice(Authenticator(st))
    pin = "2468" if verification == "pin" else None
    if pin:
        set_pin(dev, pin)
    uv = UV.DISCOURAGED if verification == "none" else UV.REQUIRED
    verifier = TrustCa(batch.ca_der) if attestation == "batch" else None
    rp = RelyingParty(server=Fido2Server(PublicKeyCredentialRpEntity(id=RP_ID, name="Ex"),
                                         attestation="direct" if verifier else None,
                                         verify_attestation=verifier))
    client = client_for(dev, pin)
    reg = rp.register(client, uv=uv, rk=resident)
    assert reg.is_user_present()
    assert reg.is_user_verified() == (verification != "none")
    assert reg.credential_data is not None
    assert alg == CoseKey.parse(reg.credential_data.public_key).ALGORITHM
    assert reg.credential_data.aaguid == st.aaguid
    assert reg.rp_id_hash == hashlib.sha256(RP_ID.encode()).digest()
    assert (len(st.resident) == 1) == resident
    first = rp.login(client, uv=uv, discoverable=resident)
    second = rp.login(client, uv=uv, discoverable=resident)
    assert second.counter > first.counter > reg.counter - 1
    assert first.is_user_verified() == (verification != "none")


# module-level batch attestation (generating a CA per test would be wasteful)
batch_aaguid = bytes.fromhex("a1" * 16)
_BATCH = BatchAttestation.generate(batch_aaguid)


@pytest.fixture
def batch() -> BatchAttestation:
    return _BATCH


def _attestation(alg: Alg, mode: str) -> tuple[AttestationObject, bytes, Authenticator]:
    import os

    from fido2.ctap2.base import Ctap2

    st = AuthenticatorState.new(algorithms=[alg], attestation=mode, aaguid=batch_aaguid)
    if mode == "batch":
        st.batch = _BATCH
    a = Authenticator(st)
    cdh = os.urandom(32)
    att = Ctap2(SoftCtapDevice(a)).make_credential(cdh, {"id": RP_ID}, {"id": b"u"},
                                                   [{"type": "public-key", "alg": int(alg)}])
    return AttestationObject.create(att.fmt, att.auth_data, att.att_stmt), cdh, a


@pytest.mark.parametrize("alg", [Alg.ES256, Alg.EDDSA], ids=["ES256", "EdDSA"])
def test_packed_self_attestation_verifies(alg: Alg) -> None:
    obj, cdh, _ = _attestation(alg, "self")
    assert obj.fmt == "packed" and "x5c" not in obj.att_stmt
    result = PackedAttestation().verify(obj.att_stmt, obj.auth_data, cdh)
    assert result.attestation_type == AttestationType.SELF


def test_batch_certificate_fields_and_chain() -> None:
    obj, cdh, _ = _attestation(Alg.ES256, "batch")
    result = PackedAttestation().verify(obj.att_stmt, obj.auth_data, cdh)
    assert result.attestation_type == AttestationType.BASIC
    cert = x509.load_der_x509_certificate(obj.att_stmt["x5c"][0])
    ou = cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert ou == "Authenticator Attestation"
    for oid in (x509.NameOID.COUNTRY_NAME, x509.NameOID.ORGANIZATION_NAME, x509.NameOID.COMMON_NAME):
        assert cert.subject.get_attributes_for_oid(oid)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ext = cert.extensions.get_extension_for_oid(OID_AAGUID)
    assert not ext.critical and ext.value.value == b"\x04\x10" + batch_aaguid
    TrustCa(_BATCH.ca_der).verify_attestation(obj, cdh)  # chains to the generated CA
    other = BatchAttestation.generate(batch_aaguid)
    with pytest.raises(UntrustedAttestation):
        TrustCa(other.ca_der).verify_attestation(obj, cdh)


def test_none_attestation_has_empty_statement() -> None:
    obj, _, _ = _attestation(Alg.EDDSA, "none")
    assert obj.fmt == "none" and obj.att_stmt == {}


def test_server_rejects_tampered_attestation_signature() -> None:
    obj, cdh, _ = _attestation(Alg.ES256, "self")
    stmt = dict(obj.att_stmt)
    stmt["sig"] = stmt["sig"][:-1] + bytes([stmt["sig"][-1] ^ 1])
    from fido2.attestation import InvalidSignature

    with pytest.raises(InvalidSignature):
        PackedAttestation().verify(stmt, obj.auth_data, cdh)


def test_biometric_no_match_fails_the_ceremony() -> None:
    from fido2.client import ClientError

    from tests.fido2.conftest import RelyingParty

    dev = SoftCtapDevice(Authenticator(AuthenticatorState.new(attestation="none", uv="deny")))
    with pytest.raises(ClientError) as ei:
        RelyingParty().register(client_for(dev), uv=UV.REQUIRED)
    assert "UV_INVALID" in repr(ei.value.cause)


def test_biometric_blocked_falls_back_to_pin() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none", uv="deny"))
    a.state.uv_retries = 1
    dev = SoftCtapDevice(a)
    set_pin(dev, "8642")
    reg = RelyingParty().register(client_for(dev, "8642"), uv=UV.REQUIRED)
    assert reg.is_user_verified() and a.state.uv_retries == 0  # UV_BLOCKED, then the PIN


@pytest.mark.parametrize("resident", [False, True], ids=["nonresident", "resident"])
def test_rs256_round_trip_and_state(resident: bool, tmp_path: object) -> None:
    from pathlib import Path

    from tests.fido2.conftest import RelyingParty
    from tokens.fido2 import state as store

    st = AuthenticatorState.new(algorithms=[Alg.RS256], attestation="self", name="rsa")
    a = Authenticator(st)
    rp = RelyingParty()
    reg = rp.register(client_for(SoftCtapDevice(a)), rk=resident)
    assert reg.credential_data is not None
    assert CoseKey.parse(reg.credential_data.public_key).ALGORITHM == -257
    assert len(reg.credential_data.credential_id) <= 128 and len(st.rsa_keys) == 1
    obj_key = CoseKey.parse(reg.credential_data.public_key)
    assert obj_key[-1]  # modulus present
    # the key survives a save/load (another process), and the counter continues
    store.save(st, Path(str(tmp_path)))
    again = Authenticator(store.load("rsa", Path(str(tmp_path))))
    assert rp.login(client_for(SoftCtapDevice(again)), discoverable=resident).counter == 1
    # after a reset the key (and so the credential) is gone
    again.power_cycle()
    from fido2.ctap2.base import Ctap2

    Ctap2(SoftCtapDevice(again)).reset()
    assert again.state.rsa_keys == {}
