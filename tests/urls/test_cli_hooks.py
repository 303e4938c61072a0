"""--device URL in the commands that take a device: hw ..., fido2 register/login, verifier enroll."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest

from tokens._cli.main import main
from tokens.fido2 import state as fido2_state

T = 1_767_225_600.0


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_hw_takes_a_device_url(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "hw", "info", "--device", "sim-serial:?slots=3&serial=TS00000777", "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["identity"] == "TS00000777" and len(info["slots"]) == 3
    rc, _, err = run(capsys, "hw", "info", "--port", "serial:///dev/tokensim-none")
    assert rc == 1 and "cannot open serial port /dev/tokensim-none" in err and err.count("\n") == 1


def test_fido2_register_and_login_with_a_device_url(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    from fido2.server import Fido2Server
    from fido2.webauthn import (
        PublicKeyCredentialRpEntity,
        PublicKeyCredentialUserEntity,
        UserVerificationRequirement,
    )

    fido2_state.create(fido2_state.AuthenticatorState.new(name="qa"))
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="Example"))
    opts, st = server.register_begin(PublicKeyCredentialUserEntity(id=b"u1", name="alice"),
                                     user_verification=UserVerificationRequirement.DISCOURAGED)
    (tmp_path / "reg.json").write_text(json.dumps(dict(opts)))
    rc, out, err = run(capsys, "fido2", "register", "--device", "fido2-sim:qa", "--options",
                       str(tmp_path / "reg.json"))
    assert rc == 0, err
    cred = server.register_complete(st, json.loads(out)).credential_data
    assert cred is not None
    opts2, st2 = server.authenticate_begin([cred], user_verification=UserVerificationRequirement.DISCOURAGED)
    (tmp_path / "login.json").write_text(json.dumps(dict(opts2)))
    rc, out, err = run(capsys, "fido2", "login", "--device", "fido2-sim:qa", "--options",
                       str(tmp_path / "login.json"))
    assert rc == 0, err
    assert server.authenticate_complete(st2, [cred], json.loads(out)) == cred
    rc, _, err = run(capsys, "fido2", "login", "qa", "--device", "fido2-sim:qa", "--options",
                     str(tmp_path / "login.json"))
    assert rc == 1 and "NAME or --device URL" in err
    rc, _, err = run(capsys, "fido2", "login", "--device", "totp:", "--options", str(tmp_path / "login.json"))
    assert rc == 1 and "not a FIDO2 authenticator" in err


@pytest.mark.parametrize("url", ["sim-serial:?drift_ppm=45", "totp:?drift_ppm=-60&offset=20",
                                 "hotp:?counter=3"])
def test_verifier_enroll_reads_two_codes_from_a_device_url(capsys: pytest.CaptureFixture[str], url: str,
                                                           tmp_path: Path) -> None:
    db = str(tmp_path / "v.sqlite3")
    rc, out, err = run(capsys, "verifier", "enroll", "S1", "--device", url, "--auto", "--at", str(T),
                       "--db", db, "--json")
    assert rc == 0, err
    assert json.loads(out)["ok"] is True
    # a stored virtual device by NAME still works as before
    run(capsys, "totp", "new", "alice", "--secret", pyotp.random_base32())
    rc, out, err = run(capsys, "verifier", "enroll", "S2", "--device", "alice", "--auto", "--at", str(T),
                       "--db", db, "--json")
    assert rc == 0 and json.loads(out)["ok"] is True, err
