"""Each bad request gets the CTAP2 status the spec assigns (raw bytes in, status byte out)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from fido2 import cbor
from fido2.ctap import CtapError
from fido2.ctap2.base import Ctap2

from tests.fido2.conftest import RP_ID, set_pin
from tokens.clock import ManualClock
from tokens.fido2 import Alg, Authenticator, AuthenticatorState, Deny, SoftCtapDevice

ERR = CtapError.ERR
CDH = b"\x11" * 32
ES256 = [{"type": "public-key", "alg": -7}]


def mc(**over: Any) -> dict[int, Any]:
    req: dict[int, Any] = {1: CDH, 2: {"id": RP_ID, "name": "Ex"}, 3: {"id": b"uid", "name": "a"}, 4: ES256}
    for k, v in over.items():
        idx = int(k[1:])
        if v is None:
            req.pop(idx, None)
        else:
            req[idx] = v
    return req


def call(a: Authenticator, cmd: int, params: dict[int, Any] | None = None) -> tuple[int, Any]:
    resp = a.process(bytes([cmd]) + (cbor.encode(params) if params is not None else b""))
    return resp[0], (cbor.decode(resp[1:]) if len(resp) > 1 else None)


def status(a: Authenticator, cmd: int, params: dict[int, Any] | None = None) -> int:
    return call(a, cmd, params)[0]


@pytest.fixture
def a() -> Authenticator:
    return Authenticator(AuthenticatorState.new(attestation="none", algorithms=[Alg.ES256]))


def make(a: Authenticator, rk: bool = False, **over: Any) -> bytes:
    code, body = call(a, 0x01, mc(**over, k7={"rk": True} if rk else None))
    assert code == 0, hex(code)
    from fido2.webauthn import AuthenticatorData

    ad = AuthenticatorData(body[2])
    assert ad.credential_data is not None
    return ad.credential_data.credential_id


@pytest.mark.parametrize("raw, code", [
    (b"", ERR.INVALID_LENGTH),
    (b"\x55", ERR.INVALID_COMMAND),
    (b"\x01\xa1", ERR.INVALID_CBOR),  # truncated map
    (b"\x01\xff", ERR.INVALID_CBOR),  # not a CBOR item this decoder knows
    (b"\x01\xa1\x18\x01\x01", ERR.INVALID_CBOR),  # key 1 encoded in two bytes: non-canonical
    (b"\x01\xa2\x02\x00\x01\x00", ERR.INVALID_CBOR),  # keys out of canonical order
    (b"\x01\x81\x01", ERR.CBOR_UNEXPECTED_TYPE),  # an array, not a map
    (b"\x01\xa1\x61a\x01", ERR.CBOR_UNEXPECTED_TYPE),  # text key
    (b"\x01\xa1\x01\x00\x00", ERR.INVALID_CBOR),  # trailing bytes
    (b"\x02" + b"\x00" * 1300, ERR.REQUEST_TOO_LARGE),
])
def test_malformed_requests(a: Authenticator, raw: bytes, code: int) -> None:
    assert a.process(raw) == bytes([code])


@pytest.mark.parametrize("over, code", [
    ({"k1": None}, ERR.MISSING_PARAMETER),
    ({"k2": None}, ERR.MISSING_PARAMETER),
    ({"k3": None}, ERR.MISSING_PARAMETER),
    ({"k4": None}, ERR.MISSING_PARAMETER),
    ({"k1": "not bytes"}, ERR.CBOR_UNEXPECTED_TYPE),
    ({"k2": {"name": "no id"}}, ERR.MISSING_PARAMETER),
    ({"k3": {"id": "text id"}}, ERR.CBOR_UNEXPECTED_TYPE),
    ({"k3": {"id": b"x" * 65}}, ERR.INVALID_LENGTH),
    ({"k4": [{"type": "public-key", "alg": -257}]}, ERR.UNSUPPORTED_ALGORITHM),
    ({"k4": [{"type": "public-key", "alg": -8}]}, ERR.UNSUPPORTED_ALGORITHM),  # EdDSA disabled here
    ({"k4": [{"type": "public-key"}]}, ERR.MISSING_PARAMETER),
    ({"k4": "ES256"}, ERR.CBOR_UNEXPECTED_TYPE),
    ({"k5": [{"id": b"x"}]}, ERR.MISSING_PARAMETER),
    ({"k6": {"credProtect": 7}}, ERR.INVALID_PARAMETER),
    ({"k6": {"largeBlobKey": True}}, ERR.INVALID_OPTION),  # needs rk
    ({"k7": {"up": False}}, ERR.INVALID_OPTION),
    ({"k7": {"uv": True}}, ERR.INVALID_OPTION),  # no built-in UV
    ({"k7": {"rk": "yes"}}, ERR.CBOR_UNEXPECTED_TYPE),
    ({"k8": b"\x00" * 16}, ERR.MISSING_PARAMETER),  # pinUvAuthParam without protocol
    ({"k8": b"\x00" * 16, "k9": 3}, ERR.INVALID_PARAMETER),
    ({"k8": b"\x00" * 16, "k9": 1}, ERR.PIN_AUTH_INVALID),  # no token issued
    ({"k8": b"", "k9": 1}, ERR.PIN_NOT_SET),
    ({"k10": 1}, ERR.INVALID_PARAMETER),  # enterprise attestation
])
def test_make_credential_errors(a: Authenticator, over: dict[str, Any], code: int) -> None:
    assert status(a, 0x01, mc(**over)) == code


def test_excluded_credential(a: Authenticator) -> None:
    cid = make(a)
    assert status(a, 0x01, mc(k5=[{"id": cid, "type": "public-key"}])) == ERR.CREDENTIAL_EXCLUDED
    # another RP's (or garbage) IDs do not exclude
    assert status(a, 0x01, mc(k5=[{"id": os.urandom(80), "type": "public-key"}])) == 0


def test_user_denies(a: Authenticator) -> None:
    a.presence = Deny()
    assert status(a, 0x01, mc()) == ERR.OPERATION_DENIED


def test_resident_key_store_full() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none", capacity=1))
    make(a, rk=True)
    assert status(a, 0x01, mc(k3={"id": b"other"}, k7={"rk": True})) == ERR.KEY_STORE_FULL
    # the same user replaces its credential instead
    make(a, rk=True)
    assert len(a.state.resident) == 1
    assert call(a, 0x04)[1][20] == 0  # remainingDiscoverableCredentials


def test_resident_with_pin_needs_token(a: Authenticator) -> None:
    set_pin(SoftCtapDevice(a), "1234")
    assert status(a, 0x01, mc(k7={"rk": True})) == ERR.PUAT_REQUIRED
    assert status(a, 0x01, mc()) == 0  # makeCredUvNotRqd for non-resident
    assert status(a, 0x01, mc(k8=b"", k9=1)) == ERR.PIN_INVALID


def ga(**over: Any) -> dict[int, Any]:
    req: dict[int, Any] = {1: RP_ID, 2: CDH}
    for k, v in over.items():
        req[int(k[1:])] = v
    return req


@pytest.mark.parametrize("req, code", [
    ({2: CDH}, ERR.MISSING_PARAMETER),
    ({1: RP_ID}, ERR.MISSING_PARAMETER),
    ({1: 5, 2: CDH}, ERR.CBOR_UNEXPECTED_TYPE),
    (ga(k3="list"), ERR.CBOR_UNEXPECTED_TYPE),
    (ga(k5={"rk": True}), ERR.UNSUPPORTED_OPTION),
    (ga(k5={"uv": True}), ERR.INVALID_OPTION),
    (ga(k6=b"\x00" * 16), ERR.MISSING_PARAMETER),
    (ga(), ERR.NO_CREDENTIALS),
    (ga(k3=[{"id": b"\x01" * 80, "type": "public-key"}]), ERR.NO_CREDENTIALS),
])
def test_get_assertion_errors(a: Authenticator, req: dict[int, Any], code: int) -> None:
    assert status(a, 0x02, req) == code


def test_credential_is_bound_to_rp_and_device(a: Authenticator) -> None:
    cid = make(a)
    allow = [{"id": cid, "type": "public-key"}]
    assert status(a, 0x02, ga(k3=allow)) == 0
    assert status(a, 0x02, {1: "other.example", 2: CDH, 3: allow}) == ERR.NO_CREDENTIALS
    other = Authenticator(AuthenticatorState.new(attestation="none"))
    assert status(other, 0x02, ga(k3=allow)) == ERR.NO_CREDENTIALS


def test_get_next_assertion(a: Authenticator) -> None:
    clock = ManualClock(1000.0)
    a.clock = clock
    assert status(a, 0x08) == ERR.NOT_ALLOWED
    for uid in (b"u1", b"u2", b"u3"):
        make(a, rk=True, k3={"id": uid, "name": uid.decode()})
    code, first = call(a, 0x02, ga())
    assert code == 0 and first[5] == 3 and first[4]["id"] == b"u3"  # newest first
    code, second = call(a, 0x08)
    assert code == 0 and second[4]["id"] == b"u2" and 5 not in second
    clock.advance(31)
    assert status(a, 0x08) == ERR.NOT_ALLOWED  # timer expired
    call(a, 0x02, ga())
    call(a, 0x04)  # any other command ends the sequence
    assert status(a, 0x08) == ERR.NOT_ALLOWED


def test_silent_probe_does_not_bump_counter(a: Authenticator) -> None:
    cid = make(a)
    allow = [{"id": cid, "type": "public-key"}]
    _, r1 = call(a, 0x02, ga(k3=allow))
    _, probe = call(a, 0x02, ga(k3=allow, k5={"up": False}))
    _, r2 = call(a, 0x02, ga(k3=allow))
    from fido2.webauthn import AuthenticatorData

    c1, cp, c2 = (AuthenticatorData(r[2]) for r in (r1, probe, r2))
    assert not cp.is_user_present() and cp.counter == c1.counter
    assert c2.counter == c1.counter + 1


def test_reset_window_and_presence() -> None:
    clock = ManualClock(0.0)
    a = Authenticator(AuthenticatorState.new(attestation="none"), clock=clock)
    make(a, rk=True)
    a.presence = Deny()
    assert status(a, 0x07) == ERR.OPERATION_DENIED
    from tokens.fido2 import AutoApprove

    a.presence = AutoApprove()
    clock.advance(11)
    assert status(a, 0x07) == ERR.NOT_ALLOWED
    a.power_cycle()
    assert status(a, 0x07) == 0
    assert a.state.resident == [] and status(a, 0x02, ga()) == ERR.NO_CREDENTIALS


def test_responses_are_canonical_cbor(a: Authenticator) -> None:
    make(a, rk=True)
    for cmd, params in ((0x04, None), (0x02, ga()), (0x06, {1: 2, 2: 2}), (0x06, {1: 1, 2: 2})):
        resp = a.process(bytes([cmd]) + (cbor.encode(params) if params else b""))
        assert resp[0] == 0
        assert cbor.encode(cbor.decode(resp[1:])) == resp[1:]


def test_get_info_is_what_ctap2_expects(a: Authenticator) -> None:
    info = Ctap2(SoftCtapDevice(a)).info
    assert "FIDO_2_1" in info.versions and "U2F_V2" in info.versions
    assert set(info.extensions) >= {"hmac-secret", "credProtect", "credBlob", "largeBlobKey", "minPinLength"}
    assert info.options["rk"] and info.options["clientPin"] is False and info.options["credMgmt"]
    assert info.pin_uv_protocols == [2, 1]
    assert info.aaguid == a.state.aaguid
    assert [x["alg"] for x in info.algorithms] == [-7]


def test_selection_and_unknown_subcommands(a: Authenticator) -> None:
    assert status(a, 0x0B) == 0
    a.presence = Deny()
    assert status(a, 0x0B) == ERR.OPERATION_DENIED
    assert status(a, 0x06, {1: 1, 2: 0x42}) == ERR.INVALID_SUBCOMMAND
    assert status(a, 0x06, {1: 1}) == ERR.MISSING_PARAMETER
    assert status(a, 0x06, {2: 2}) == ERR.MISSING_PARAMETER
    assert status(a, 0x0A, {1: 0x01}) == ERR.PUAT_REQUIRED
    assert status(a, 0x0A, {1: 0x33, 4: b"x"}) == ERR.INVALID_SUBCOMMAND
    assert status(a, 0x0C, {3: 0}) == ERR.INVALID_PARAMETER
    assert status(a, 0x0C, {1: 10}) == ERR.MISSING_PARAMETER
