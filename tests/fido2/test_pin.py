"""ClientPIN semantics for PIN/UV auth protocols 1 and 2."""

from __future__ import annotations

import pytest
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2

from tokens.fido2 import Authenticator, AuthenticatorState, Biometric, SoftCtapDevice

ERR = CtapError.ERR
PROTOCOLS = [PinProtocolV1, PinProtocolV2]
Perm = ClientPin.PERMISSION


def _pin(a: Authenticator, proto: type) -> ClientPin:
    return ClientPin(Ctap2(SoftCtapDevice(a)), proto())


def _err(fn: object, *args: object) -> int:
    with pytest.raises(CtapError) as ei:
        fn(*args)  # type: ignore[operator]
    return int(ei.value.code)


@pytest.fixture
def a() -> Authenticator:
    return Authenticator(AuthenticatorState.new(attestation="none"))


@pytest.mark.parametrize("proto", PROTOCOLS, ids=["v1", "v2"])
def test_set_change_and_token(a: Authenticator, proto: type) -> None:
    cp = _pin(a, proto)
    assert _err(cp.get_pin_token, "1234") == ERR.PIN_NOT_SET
    cp.set_pin("1234")
    assert a.state.pin_hash is not None
    assert _err(cp.set_pin, "5678") == ERR.PIN_AUTH_INVALID  # already set
    assert cp.get_pin_retries() == (8, False)
    token = cp.get_pin_token("1234", Perm.GET_ASSERTION, "example.com")
    assert len(token) == 32
    cp.change_pin("1234", "98765")
    assert _err(cp.get_pin_token, "1234") == ERR.PIN_INVALID
    assert cp.get_pin_token("98765")
    assert cp.get_pin_retries()[0] == 8  # a correct PIN restores the retries


@pytest.mark.parametrize("proto", PROTOCOLS, ids=["v1", "v2"])
def test_three_wrong_then_blocked_until_power_cycle(a: Authenticator, proto: type) -> None:
    cp = _pin(a, proto)
    cp.set_pin("1234")
    assert [_err(cp.get_pin_token, "0000") for _ in range(3)] == [
        ERR.PIN_INVALID, ERR.PIN_INVALID, ERR.PIN_AUTH_BLOCKED]
    assert _err(cp.get_pin_token, "1234") == ERR.PIN_AUTH_BLOCKED  # even the right PIN
    assert cp.get_pin_retries() == (5, True)
    a.power_cycle()
    cp = _pin(a, proto)
    assert cp.get_pin_retries() == (5, False)
    assert cp.get_pin_token("1234")
    assert cp.get_pin_retries() == (8, False)


def test_eight_wrong_in_total_blocks_the_pin(a: Authenticator) -> None:
    cp = _pin(a, PinProtocolV2)
    cp.set_pin("1234")
    codes = []
    for _ in range(8):
        if len(codes) % 3 == 0 and codes:
            a.power_cycle()
            cp = _pin(a, PinProtocolV2)
        codes.append(_err(cp.get_pin_token, "0000"))
    assert codes[-1] == ERR.PIN_BLOCKED and a.state.pin_retries == 0
    a.power_cycle()
    cp = _pin(a, PinProtocolV2)
    assert _err(cp.get_pin_token, "1234") == ERR.PIN_BLOCKED
    assert _err(cp.change_pin, "1234", "5555") == ERR.PIN_BLOCKED


def test_pin_policy(a: Authenticator) -> None:
    cp = _pin(a, PinProtocolV2)
    a.state.min_pin_length = 6
    assert _err(cp.set_pin, "12345") == ERR.PIN_POLICY_VIOLATION
    cp.set_pin("123456")
    assert Ctap2(SoftCtapDevice(a)).info.min_pin_length == 6


def test_permissions(a: Authenticator) -> None:
    dev = SoftCtapDevice(a)
    cp = _pin(a, PinProtocolV2)
    cp.set_pin("1234")
    assert _err(cp.get_pin_token, "1234", Perm.PERSISTENT_CREDENTIAL_MGMT) == ERR.UNAUTHORIZED_PERMISSION
    token = cp.get_pin_token("1234", Perm.GET_ASSERTION, "example.com")
    ctap = Ctap2(dev)
    param = cp.protocol.authenticate(token, b"\x00" * 32)
    # a get-assertion-only token cannot make credentials
    with pytest.raises(CtapError) as ei:
        ctap.make_credential(b"\x00" * 32, {"id": "example.com"}, {"id": b"u"},
                             [{"type": "public-key", "alg": -7}], pin_uv_param=param, pin_uv_protocol=2)
    assert ei.value.code == ERR.PIN_AUTH_INVALID
    # nor be used for another RP
    with pytest.raises(CtapError) as ei:
        ctap.get_assertion("other.example", b"\x00" * 32, pin_uv_param=param, pin_uv_protocol=2)
    assert ei.value.code == ERR.PIN_AUTH_INVALID
    # and a token from protocol 2 does not verify under protocol 1
    with pytest.raises(CtapError) as ei:
        ctap.get_assertion("example.com", b"\x00" * 32, pin_uv_param=param[:16], pin_uv_protocol=1)
    assert ei.value.code == ERR.PIN_AUTH_INVALID


def test_zero_permissions_rejected(a: Authenticator) -> None:
    cp = _pin(a, PinProtocolV2)
    cp.set_pin("1234")
    ka, shared = cp._get_shared_secret()
    import hashlib

    enc = cp.protocol.encrypt(shared, hashlib.sha256(b"1234").digest()[:16])
    with pytest.raises(CtapError) as ei:
        cp.ctap.client_pin(2, ClientPin.CMD.GET_TOKEN_USING_PIN, key_agreement=ka, pin_hash_enc=enc,
                           permissions=0)
    assert ei.value.code == ERR.INVALID_PARAMETER


def test_built_in_uv_token_and_retries() -> None:
    bio = Biometric(match=True, script=[False, True])
    a = Authenticator(AuthenticatorState.new(attestation="none", uv="auto"), biometric=bio)
    cp = _pin(a, PinProtocolV2)
    assert _err(cp.get_uv_token, Perm.GET_ASSERTION, "example.com") == ERR.UV_INVALID
    assert cp.get_uv_retries() == 4
    assert cp.get_uv_token(Perm.GET_ASSERTION, "example.com")
    assert cp.get_uv_retries() == 5


def test_denying_biometric_blocks_after_retries() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none", uv="deny"))
    cp = _pin(a, PinProtocolV2)
    codes = [_err(cp.get_uv_token, Perm.GET_ASSERTION, "x") for _ in range(6)]
    assert codes[:4] == [ERR.UV_INVALID] * 4 and codes[4:] == [ERR.UV_BLOCKED] * 2


def test_no_built_in_uv(a: Authenticator) -> None:
    cp = _pin(a, PinProtocolV2)
    with pytest.raises(CtapError) as ei:
        cp.ctap.client_pin(2, ClientPin.CMD.GET_UV_RETRIES)
    assert ei.value.code == ERR.INVALID_SUBCOMMAND


def test_bad_key_agreement(a: Authenticator) -> None:
    cp = _pin(a, PinProtocolV2)
    with pytest.raises(CtapError) as ei:
        cp.ctap.client_pin(2, ClientPin.CMD.SET_PIN, key_agreement={1: 2, -2: b"\x00" * 32, -3: b"\x00" * 32},
                           new_pin_enc=b"\x00" * 80, pin_uv_param=b"\x00" * 32)
    assert ei.value.code == ERR.INVALID_PARAMETER


def test_malformed_pin_hash_costs_no_retry(a: Authenticator) -> None:
    cp = _pin(a, PinProtocolV2)
    cp.set_pin("1234")
    ka, _ = cp._get_shared_secret()
    with pytest.raises(CtapError) as ei:
        cp.ctap.client_pin(2, ClientPin.CMD.GET_TOKEN_USING_PIN, key_agreement=ka, pin_hash_enc=b"\x00" * 5,
                           permissions=1)
    assert ei.value.code == ERR.INVALID_PARAMETER and a.state.pin_retries == 8


def test_token_expires_on_the_injected_clock() -> None:
    from tokens.clock import ManualClock

    clock = ManualClock(0.0)
    a = Authenticator(AuthenticatorState.new(attestation="none"), clock=clock)
    ctap = Ctap2(SoftCtapDevice(a))
    att = ctap.make_credential(b"\x00" * 32, {"id": "example.com"}, {"id": b"u"},
                               [{"type": "public-key", "alg": -7}])
    assert att.auth_data.credential_data is not None
    allow = [{"id": att.auth_data.credential_data.credential_id, "type": "public-key"}]
    cp = _pin(a, PinProtocolV2)
    cp.set_pin("1234")
    token = cp.get_pin_token("1234", Perm.GET_ASSERTION, "example.com")
    param = cp.protocol.authenticate(token, b"\x01" * 32)
    clock.advance(599)
    resp = ctap.get_assertion("example.com", b"\x01" * 32, allow, pin_uv_param=param, pin_uv_protocol=2)
    assert resp.auth_data.is_user_verified()
    clock.advance(2)
    with pytest.raises(CtapError) as ei:
        ctap.get_assertion("example.com", b"\x01" * 32, allow, pin_uv_param=param, pin_uv_protocol=2)
    assert ei.value.code == ERR.PIN_TOKEN_EXPIRED
