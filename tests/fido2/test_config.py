"""authenticatorConfig (0x0D) through python-fido2's Config and ClientPin classes."""

from __future__ import annotations

import pytest
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.config import Config
from fido2.ctap2.pin import ClientPin

from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

PIN = "123456"
CDH = b"\x01" * 32
RP = {"id": "example.com", "name": "Example"}
USER = {"id": b"user", "name": "alice"}
ES256 = [{"type": "public-key", "alg": -7}]
ERR = CtapError.ERR


def device(**kw: object) -> tuple[Authenticator, Ctap2]:
    a = Authenticator(AuthenticatorState.new(**kw), reset_window=None)  # type: ignore[arg-type]
    return a, Ctap2(SoftCtapDevice(a))


def config(c: Ctap2, pin: str = PIN,
           permissions: ClientPin.PERMISSION = ClientPin.PERMISSION.AUTHENTICATOR_CFG) -> Config:
    cp = ClientPin(c)
    return Config(c, cp.protocol, cp.get_pin_token(pin, permissions))


def code(e: pytest.ExceptionInfo[CtapError]) -> int:
    return int(e.value.code)


def test_config_is_advertised_and_needs_the_acfg_permission() -> None:
    _, c = device()
    assert Config.is_supported(c.info) and c.info.options["alwaysUv"] is False
    Config(c).toggle_always_uv()  # no PIN, no UV yet: an unauthenticated call is allowed
    assert c.get_info().options["alwaysUv"] is True
    ClientPin(c).set_pin(PIN)
    with pytest.raises(CtapError) as ei:
        Config(c).toggle_always_uv()
    assert code(ei) == ERR.PUAT_REQUIRED
    with pytest.raises(CtapError) as ei:
        config(c, permissions=ClientPin.PERMISSION.MAKE_CREDENTIAL).toggle_always_uv()
    assert code(ei) == ERR.PIN_AUTH_INVALID
    config(c).toggle_always_uv()
    assert c.get_info().options["alwaysUv"] is False


def test_always_uv_makes_up_only_paths_require_uv() -> None:
    _, c = device()
    ClientPin(c).set_pin(PIN)
    c.make_credential(CDH, RP, USER, ES256)  # makeCredUvNotRqd: fine without UV
    config(c).toggle_always_uv()
    info = c.get_info()
    assert info.options["alwaysUv"] is True and info.options["makeCredUvNotRqd"] is False
    with pytest.raises(CtapError) as ei:
        c.make_credential(CDH, RP, USER, ES256)
    assert code(ei) == ERR.PUAT_REQUIRED
    with pytest.raises(CtapError) as ei:
        c.get_assertion("example.com", CDH)
    assert code(ei) == ERR.PUAT_REQUIRED
    cp = ClientPin(c)
    token = cp.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, "example.com")
    att = c.make_credential(CDH, RP, USER, ES256, pin_uv_param=cp.protocol.authenticate(token, CDH),
                            pin_uv_protocol=cp.protocol.VERSION)
    assert att.auth_data.is_user_verified()


def test_set_min_pin_length_never_decreases_and_forces_a_change() -> None:
    a, c = device()
    ClientPin(c).set_pin(PIN)  # 6 characters
    cfg = config(c)
    cfg.set_min_pin_length(min_pin_length=6)
    assert c.get_info().min_pin_length == 6 and c.get_info().force_pin_change is False
    with pytest.raises(CtapError) as ei:
        config(c).set_min_pin_length(min_pin_length=5)
    assert code(ei) == ERR.PIN_POLICY_VIOLATION
    config(c).set_min_pin_length(min_pin_length=8)  # the current PIN is now too short
    assert c.get_info().force_pin_change is True
    with pytest.raises(CtapError) as ei:  # no token until the PIN changes (YubiKey 5: PIN_INVALID)
        ClientPin(c).get_pin_token(PIN)
    assert code(ei) == ERR.PIN_INVALID
    with pytest.raises(CtapError) as ei:
        ClientPin(c).change_pin(PIN, "1234567")  # still too short
    assert code(ei) == ERR.PIN_POLICY_VIOLATION
    ClientPin(c).change_pin(PIN, "12345678")
    assert c.get_info().force_pin_change is False and a.state.min_pin_length == 8
    ClientPin(c).get_pin_token("12345678")


def test_force_change_pin_refuses_the_same_pin() -> None:
    _, c = device()
    ClientPin(c).set_pin(PIN)
    config(c).set_min_pin_length(force_change_pin=True)
    assert c.get_info().force_pin_change is True
    with pytest.raises(CtapError) as ei:
        ClientPin(c).change_pin(PIN, PIN)
    assert code(ei) == ERR.PIN_POLICY_VIOLATION
    ClientPin(c).change_pin(PIN, "654321")
    ClientPin(c).get_pin_token("654321")


def test_min_pin_length_rpids_feed_the_extension() -> None:
    _, c = device()
    ClientPin(c).set_pin(PIN)
    with pytest.raises(CtapError) as ei:
        config(c).set_min_pin_length(rp_ids=[f"rp{i}.example" for i in range(9)])
    assert code(ei) == ERR.PIN_POLICY_VIOLATION
    config(c).set_min_pin_length(min_pin_length=6, rp_ids=["example.com"])
    cp = ClientPin(c)
    token = cp.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, "example.com")
    att = c.make_credential(CDH, RP, USER, ES256, extensions={"minPinLength": True},
                            pin_uv_param=cp.protocol.authenticate(token, CDH),
                            pin_uv_protocol=cp.protocol.VERSION)
    assert att.auth_data.extensions == {"minPinLength": 6}


def test_enterprise_attestation() -> None:
    a, c = device(attestation="batch", ep_rp_ids=["corp.example"])
    assert c.info.options["ep"] is False
    with pytest.raises(CtapError) as ei:
        c.make_credential(CDH, RP, USER, ES256, enterprise_attestation=2)
    assert code(ei) == ERR.INVALID_PARAMETER  # not enabled
    ClientPin(c).set_pin(PIN)
    config(c).enable_enterprise_attestation()
    assert c.get_info().options["ep"] is True
    normal = c.make_credential(CDH, RP, USER, ES256)
    platform = c.make_credential(CDH, RP, USER, ES256, enterprise_attestation=2)
    assert platform.ep_att is True and normal.ep_att is None
    assert platform.att_stmt["x5c"][0] != normal.att_stmt["x5c"][0]
    assert a.state.enterprise is not None and platform.att_stmt["x5c"][0] == a.state.enterprise.cert_der
    unlisted = c.make_credential(CDH, RP, USER, ES256, enterprise_attestation=1)
    assert unlisted.ep_att is None and unlisted.att_stmt["x5c"][0] == normal.att_stmt["x5c"][0]
    listed = c.make_credential(CDH, {"id": "corp.example"}, USER, ES256, enterprise_attestation=1)
    assert listed.ep_att is True
    with pytest.raises(CtapError) as ei:
        c.make_credential(CDH, RP, USER, ES256, enterprise_attestation=3)
    assert code(ei) == ERR.INVALID_OPTION
    c.reset()
    assert c.get_info().options["ep"] is False and c.get_info().options["alwaysUv"] is False


def test_ctap20_and_preview_models_have_no_config() -> None:
    for model in ("solo", "yubikey5-fw54"):
        _, c = device(model=model)
        assert not Config.is_supported(c.info)
        with pytest.raises(CtapError) as ei:
            c.send_cbor(Ctap2.CMD.CONFIG, {1: 2})
        assert code(ei) == ERR.INVALID_COMMAND
