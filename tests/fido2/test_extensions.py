"""Extensions through python-fido2's client-side processors: prf/hmac-secret, credProtect, credBlob,
largeBlob (with authenticatorLargeBlobs), minPinLength; and credential management."""

from __future__ import annotations

import pytest
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.extensions import HmacSecretExtension
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.utils import websafe_decode
from fido2.webauthn import UserVerificationRequirement

from tests.fido2.conftest import RP_ID, RelyingParty, client_for, set_pin
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

UV = UserVerificationRequirement


def _b(value: object) -> bytes:
    return value if isinstance(value, bytes) else websafe_decode(str(value))


@pytest.fixture
def pinned() -> tuple[Authenticator, SoftCtapDevice]:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    dev = SoftCtapDevice(a)
    set_pin(dev, "1234")
    return a, dev


def test_prf_hmac_secret_is_stable_and_salt_dependent(pinned: tuple[Authenticator, SoftCtapDevice]) -> None:
    _a, dev = pinned
    rp = RelyingParty()
    client = client_for(dev, "1234")
    reg_opts, state = rp.server.register_begin({"id": b"u", "name": "u"}, user_verification=UV.REQUIRED,
                                               extensions={"prf": {}})
    reg = client.make_credential(reg_opts.public_key)
    assert reg.client_extension_results["prf"]["enabled"] is True
    rp.server.register_complete(state, reg)

    def prf(salt: bytes) -> bytes:
        opts, _ = rp.server.authenticate_begin([reg.response.attestation_object.auth_data.credential_data],
                                               user_verification=UV.REQUIRED,
                                               extensions={"prf": {"eval": {"first": salt}}})
        res = client.get_assertion(opts.public_key).get_response(0)
        return _b(res.client_extension_results["prf"]["results"]["first"])

    s1, s2 = b"\x01" * 32, b"\x02" * 32
    assert prf(s1) == prf(s1) and prf(s1) != prf(s2) and len(prf(s1)) == 32


def test_prf_at_registration_uses_hmac_secret_mc(pinned: tuple[Authenticator, SoftCtapDevice]) -> None:
    _, dev = pinned
    rp = RelyingParty()
    client = client_for(dev, "1234")
    salt = b"\x07" * 32
    opts, state = rp.server.register_begin({"id": b"u", "name": "u"}, user_verification=UV.REQUIRED,
                                           extensions={"prf": {"eval": {"first": salt}}})
    reg = client.make_credential(opts.public_key)
    at_creation = _b(reg.client_extension_results["prf"]["results"]["first"])
    cred = rp.server.register_complete(state, reg).credential_data
    opts, _ = rp.server.authenticate_begin([cred], user_verification=UV.REQUIRED,
                                           extensions={"prf": {"eval": {"first": salt}}})
    res = client.get_assertion(opts.public_key).get_response(0)
    assert _b(res.client_extension_results["prf"]["results"]["first"]) == at_creation


@pytest.mark.parametrize("proto", [PinProtocolV1, PinProtocolV2], ids=["v1", "v2"])
def test_hmac_secret_raw_both_protocols(proto: type) -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    ctap = Ctap2(SoftCtapDevice(a))
    att = ctap.make_credential(b"\x00" * 32, {"id": RP_ID}, {"id": b"u"}, [{"type": "public-key", "alg": -7}],
                               extensions={"hmac-secret": True})
    assert att.auth_data.extensions == {"hmac-secret": True}
    cred = att.auth_data.credential_data
    assert cred is not None
    p = proto()
    key_agreement, shared = ClientPin(ctap, p)._get_shared_secret()
    salts = b"\x05" * 32 + b"\x06" * 32
    enc = p.encrypt(shared, salts)
    resp = ctap.get_assertion(RP_ID, b"\x00" * 32, [{"id": cred.credential_id, "type": "public-key"}],
                              extensions={"hmac-secret": {1: key_agreement, 2: enc,
                                                          3: p.authenticate(shared, enc), 4: p.VERSION}})
    assert resp.auth_data.extensions is not None
    out = p.decrypt(shared, resp.auth_data.extensions["hmac-secret"])
    assert len(out) == 64 and out[:32] != out[32:]
    # a wrong saltAuth is refused
    with pytest.raises(CtapError):
        ctap.get_assertion(RP_ID, b"\x00" * 32, [{"id": cred.credential_id, "type": "public-key"}],
                           extensions={"hmac-secret": {1: key_agreement, 2: enc, 3: b"\x00" * len(
                               p.authenticate(shared, enc)), 4: p.VERSION}})
    assert HmacSecretExtension.NAME in ctap.info.extensions


def test_cred_protect_required_hides_credential_without_uv(
        pinned: tuple[Authenticator, SoftCtapDevice]) -> None:
    _a, dev = pinned
    rp = RelyingParty()
    reg = rp.register(client_for(dev, "1234"), uv=UV.REQUIRED, rk=True,
                      extensions={"credentialProtectionPolicy": "userVerificationRequired",
                                  "enforceCredentialProtectionPolicy": True})
    assert reg.extensions == {"credProtect": 3}
    ctap = Ctap2(dev)
    with pytest.raises(CtapError) as ei:
        ctap.get_assertion(RP_ID, b"\x00" * 32)  # no UV: invisible
    assert ei.value.code == CtapError.ERR.NO_CREDENTIALS
    assert rp.login(client_for(dev, "1234"), uv=UV.REQUIRED, discoverable=True).is_user_verified()


def test_cred_blob_round_trip() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    ctap = Ctap2(SoftCtapDevice(a))
    att = ctap.make_credential(b"\x00" * 32, {"id": RP_ID}, {"id": b"u"}, [{"type": "public-key", "alg": -7}],
                               extensions={"credBlob": b"blob!"}, options={"rk": True})
    assert att.auth_data.extensions == {"credBlob": True}
    resp = ctap.get_assertion(RP_ID, b"\x00" * 32, extensions={"credBlob": True})
    assert resp.auth_data.extensions == {"credBlob": b"blob!"}
    too_big = ctap.make_credential(b"\x00" * 32, {"id": RP_ID}, {"id": b"v"},
                                   [{"type": "public-key", "alg": -7}], extensions={"credBlob": b"x" * 33})
    assert too_big.auth_data.extensions == {"credBlob": False}


def test_large_blob_write_and_read(pinned: tuple[Authenticator, SoftCtapDevice]) -> None:
    _a, dev = pinned
    rp = RelyingParty()
    client = client_for(dev, "1234")
    opts, state = rp.server.register_begin({"id": b"u", "name": "u"}, user_verification=UV.REQUIRED,
                                           resident_key_requirement="required",
                                           extensions={"largeBlob": {"support": "required"}})
    reg = client.make_credential(opts.public_key)
    assert reg.client_extension_results["largeBlob"]["supported"] is True
    rp.server.register_complete(state, reg)
    data = b"large blob payload " * 80  # > one fragment
    opts, _ = rp.server.authenticate_begin(None, user_verification=UV.REQUIRED,
                                           extensions={"largeBlob": {"write": data}})
    w = client.get_assertion(opts.public_key).get_response(0)
    assert w.client_extension_results["largeBlob"]["written"] is True
    opts, _ = rp.server.authenticate_begin(None, user_verification=UV.REQUIRED,
                                           extensions={"largeBlob": {"read": True}})
    r = client.get_assertion(opts.public_key).get_response(0)
    assert _b(r.client_extension_results["largeBlob"]["blob"]) == data


def test_large_blob_write_needs_token_and_integrity(pinned: tuple[Authenticator, SoftCtapDevice]) -> None:
    _a, dev = pinned
    ctap = Ctap2(dev)
    with pytest.raises(CtapError) as ei:
        ctap.large_blobs(0, set=b"\x80" + b"\x00" * 16, length=17)
    assert ei.value.code == CtapError.ERR.PUAT_REQUIRED
    cp = ClientPin(ctap)
    token = cp.get_pin_token("1234", ClientPin.PERMISSION.LARGE_BLOB_WRITE)
    import hashlib
    import struct

    data = b"\x80" + b"\x00" * 16  # wrong checksum
    msg = b"\xff" * 32 + b"\x0c\x00" + struct.pack("<I", 0) + hashlib.sha256(data).digest()
    with pytest.raises(CtapError) as ei:
        ctap.large_blobs(0, set=data, length=17, pin_uv_param=cp.protocol.authenticate(token, msg),
                         pin_uv_protocol=cp.protocol.VERSION)
    assert ei.value.code == CtapError.ERR.INTEGRITY_FAILURE
    with pytest.raises(CtapError) as ei:
        ctap.large_blobs(5, set=b"x", pin_uv_param=b"\x00" * 32, pin_uv_protocol=2)
    assert ei.value.code == CtapError.ERR.INVALID_SEQ


def test_min_pin_length_extension() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    a.state.min_pin_rp_ids = [RP_ID]
    a.state.min_pin_length = 6
    ctap = Ctap2(SoftCtapDevice(a))
    att = ctap.make_credential(b"\x00" * 32, {"id": RP_ID}, {"id": b"u"}, [{"type": "public-key", "alg": -7}],
                               extensions={"minPinLength": True})
    assert att.auth_data.extensions == {"minPinLength": 6}
    other = ctap.make_credential(b"\x00" * 32, {"id": "other.example"}, {"id": b"u"},
                                 [{"type": "public-key", "alg": -7}], extensions={"minPinLength": True})
    assert other.auth_data.extensions is None


def test_credential_management(pinned: tuple[Authenticator, SoftCtapDevice]) -> None:
    a, dev = pinned
    for rp_id, user in (("example.com", b"a"), ("example.com", b"b"), ("other.example", b"c")):
        ctap = Ctap2(dev)
        cp = ClientPin(ctap)
        token = cp.get_pin_token("1234", ClientPin.PERMISSION.MAKE_CREDENTIAL, rp_id)
        ctap.make_credential(b"\x00" * 32, {"id": rp_id}, {"id": user, "name": user.decode()},
                             [{"type": "public-key", "alg": -8}], options={"rk": True},
                             pin_uv_param=cp.protocol.authenticate(token, b"\x00" * 32),
                             pin_uv_protocol=cp.protocol.VERSION)
    ctap = Ctap2(dev)
    cp = ClientPin(ctap)
    token = cp.get_pin_token("1234", ClientPin.PERMISSION.CREDENTIAL_MGMT)
    cm = CredentialManagement(ctap, cp.protocol, token)
    assert cm.get_metadata() == {1: 3, 2: 22}
    rps = cm.enumerate_rps()
    assert sorted(r[3]["id"] for r in rps) == ["example.com", "other.example"]
    import hashlib

    creds = cm.enumerate_creds(hashlib.sha256(b"example.com").digest())
    assert sorted(c[6]["id"] for c in creds) == [b"a", b"b"]
    assert all(c[8][3] == -8 for c in creds)
    target = creds[0][7]
    cm.update_user_info(target, {"id": creds[0][6]["id"], "name": "renamed"})
    assert any(c.user.get("name") == "renamed" for c in a.state.resident)
    cm.delete_cred(target)
    assert cm.get_metadata()[1] == 2
    # the deleted discoverable credential cannot come back through an allowList
    with pytest.raises(CtapError) as ei:
        ctap.get_assertion("example.com", b"\x00" * 32, [target], options={"up": False})
    assert ei.value.code == CtapError.ERR.NO_CREDENTIALS
    with pytest.raises(CtapError) as ei:
        cm.delete_cred(target)
    assert ei.value.code == CtapError.ERR.NO_CREDENTIALS
