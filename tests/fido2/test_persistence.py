"""State file round trip (0600, atomic) and the Device adapter over a persisted authenticator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fido2.conftest import RelyingParty, client_for, set_pin
from tokens.device import AuthRequest, EnrollRequest, Fido2Options
from tokens.errors import DeviceExistsError, DeviceNotFoundError, InputError
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice
from tokens.fido2 import state as store
from tokens.fido2.device import open_named
from tokens.fido2.errors import StateFileError


def test_round_trip_keeps_keys_credentials_pin_and_counters(tmp_path: Path) -> None:
    st = AuthenticatorState.new(attestation="batch", uv="auto", name="qa")
    a = Authenticator(st)
    dev = SoftCtapDevice(a)
    set_pin(dev, "1234")
    rp = RelyingParty()
    rp.register(client_for(dev, "1234"), rk=True, uv="required")
    rp.login(client_for(dev, "1234"), discoverable=True, uv="required")
    path = store.create(st, tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = store.load("qa", tmp_path)
    assert loaded.to_dict() == st.to_dict()
    # a fresh process would do exactly this: same credentials, counter continues
    again = SoftCtapDevice(Authenticator(loaded))
    assert rp.login(client_for(again, "1234"), discoverable=True, uv="required").counter == 2
    assert store.names(tmp_path) == ["qa"]
    with pytest.raises(DeviceExistsError):
        store.create(st, tmp_path)


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFoundError):
        store.load("missing", tmp_path)
    with pytest.raises(InputError):
        store.state_path("../escape", tmp_path)
    (tmp_path / "fido2").mkdir()
    (tmp_path / "fido2" / "bad.json").write_text("{not json")
    with pytest.raises(StateFileError):
        store.load("bad", tmp_path)
    (tmp_path / "fido2" / "partial.json").write_text(json.dumps({"aaguid": "00"}))
    with pytest.raises(StateFileError):
        store.load("partial", tmp_path)


def test_open_named_device_saves_on_close(tmp_path: Path) -> None:
    store.create(AuthenticatorState.new(attestation="self", name="dev"), tmp_path)
    with open_named("dev", base=tmp_path) as d:
        enr = d.enroll(EnrollRequest(account="bob", rp_id="example.org", resident=True))
    with open_named("dev", base=tmp_path) as d:
        auth = d.authenticate(AuthRequest(rp_id="example.org"))
        assert auth.credential_id == enr.credential_id and auth.counter == 1
        assert auth.user is not None and auth.user["id"] == enr.user_id


def test_device_adapter_passes_extensions() -> None:
    from tokens.fido2.device import Fido2Device

    dev = Fido2Device(SoftCtapDevice(Authenticator(AuthenticatorState.new(attestation="none"))))
    enr = dev.enroll(EnrollRequest(rp_id="example.com", resident=True,
                                   fido2=Fido2Options(extensions={"credBlob": b"hello", "credProtect": 2})))
    assert enr.extensions == {"credBlob": True, "credProtect": 2}
    auth = dev.authenticate(AuthRequest(rp_id="example.com", credential_id=enr.credential_id,
                                        extensions={"credBlob": True}))
    assert auth.extensions == {"credBlob": b"hello"}
