"""ES384, ES512 and PS256 credentials (verified with python-fido2's cose module through Fido2Server) and
the BE/BS backup flags per credential."""

from __future__ import annotations

import json

import pytest
from fido2.cose import CoseKey
from fido2.webauthn import AuthenticatorData

from tests.fido2.conftest import RelyingParty, client_for
from tokens._cli.main import main
from tokens.fido2 import Alg, Authenticator, AuthenticatorState, SoftCtapDevice
from tokens.fido2.adapters import store

FLAG = AuthenticatorData.FLAG


@pytest.mark.parametrize("alg", [Alg.ES384, Alg.ES512, Alg.PS256, Alg.ES256, Alg.EDDSA, Alg.RS256],
                         ids=lambda a: a.label)
def test_algorithm_round_trip(alg: Alg, rp: RelyingParty) -> None:
    dev = SoftCtapDevice(Authenticator(AuthenticatorState.new(algorithms=[alg], attestation="self")))
    reg = rp.register(client_for(dev))
    assert reg.credential_data is not None
    key = reg.credential_data.public_key
    assert isinstance(key, CoseKey) and int(alg) == key.ALGORITHM
    login = rp.login(client_for(dev))  # Fido2Server verifies the signature with python-fido2's cose
    assert login.counter == 1


def test_generic_offers_all_six_algorithms() -> None:
    st = AuthenticatorState.new()
    assert {int(a) for a in st.algorithms} == {-7, -8, -35, -36, -37, -257}


@pytest.mark.parametrize(("mode", "be", "bs"), [("none", False, False), ("eligible", True, False),
                                                ("synced", True, True)])
def test_backup_flags(mode: str, be: bool, bs: bool, rp: RelyingParty) -> None:
    dev = SoftCtapDevice(Authenticator(AuthenticatorState.new(attestation="none", backup=mode)))
    for auth_data in (rp.register(client_for(dev), rk=True), rp.login(client_for(dev)),
                      rp.login(client_for(dev), discoverable=True)):
        assert bool(auth_data.flags & FLAG.BE) is be and auth_data.is_backup_eligible() is be
        assert bool(auth_data.flags & FLAG.BS) is bs


def test_backup_is_per_credential_and_persists(capsys: pytest.CaptureFixture[str], rp: RelyingParty) -> None:
    assert main(["fido2", "new", "sync", "--backup", "synced", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["backup"] == "synced"
    st = store.load("sync")
    auth = Authenticator(st)
    rp.register(client_for(SoftCtapDevice(auth)), rk=True)
    st.backup = st.backup.NONE  # later credentials are device-bound; the first stays synced
    rp.register(client_for(SoftCtapDevice(auth)), user=b"user-2", rk=True, name="bob")
    store.save(st)
    again = store.load("sync")
    assert [c.backup.value for c in again.resident] == ["synced", "none"]
    flags = rp.login(client_for(SoftCtapDevice(Authenticator(again)))).flags  # allow list: first credential
    assert flags & FLAG.BE and flags & FLAG.BS
