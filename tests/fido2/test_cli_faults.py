"""Relying-party faults from the CLI (fido2 login/register --fault) and from serve's control channel,
judged by python-fido2's Fido2Server (plus the sign-counter rule it leaves to the RP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fido2.client import DefaultClientDataCollector, Fido2Client
from fido2.server import Fido2Server
from fido2.webauthn import AuthenticationResponse, RegistrationResponse

from tokens._cli.main import main
from tokens.fido2.errors import TransportError
from tokens.fido2.udp import open_udp_device

RP = {"id": "example.com", "name": "Example"}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _register(capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Fido2Server,
              *extra: str) -> Any:
    opts, state = server.register_begin({"id": b"user-1", "name": "alice"}, user_verification="discouraged")
    (tmp_path / "create.json").write_text(json.dumps(dict(opts)))
    rc, out, err = _run(capsys, "fido2", "register", "k", "--options", str(tmp_path / "create.json"), *extra)
    assert rc == 0, err
    return server.register_complete(state, RegistrationResponse.from_dict(json.loads(out)))


def _login(capsys: pytest.CaptureFixture[str], tmp_path: Path, server: Fido2Server, cred: Any,
           *extra: str) -> Any:
    opts, state = server.authenticate_begin([cred.credential_data], user_verification="discouraged")
    (tmp_path / "get.json").write_text(json.dumps(dict(opts)))
    rc, out, err = _run(capsys, "fido2", "login", "k", "--options", str(tmp_path / "get.json"), *extra)
    assert rc == 0, err
    resp = AuthenticationResponse.from_dict(json.loads(out))
    server.authenticate_complete(state, [cred.credential_data], resp)
    return resp.response.authenticator_data


@pytest.fixture
def rp(capsys: pytest.CaptureFixture[str]) -> Fido2Server:
    assert main(["fido2", "new", "k"]) == 0
    capsys.readouterr()
    return Fido2Server(RP)


@pytest.mark.parametrize(("fault", "match"), [("bad-signature", "(?i)signature"),
                                              ("wrong-rpid", "(?i)rp.?id"),
                                              ("clear-up", "(?i)presen|UP")])
def test_login_faults_are_caught_by_the_rp(fault: str, match: str, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path, rp: Fido2Server) -> None:
    cred = _register(capsys, tmp_path, rp)
    _login(capsys, tmp_path, rp, cred)  # honest first
    with pytest.raises(Exception, match=match):
        _login(capsys, tmp_path, rp, cred, "--fault", fault)
    _login(capsys, tmp_path, rp, cred)  # the fault was for that one ceremony


def test_clone_and_counter_regression_go_backwards(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                   rp: Fido2Server) -> None:
    cred = _register(capsys, tmp_path, rp)
    stored = _login(capsys, tmp_path, rp, cred).counter
    assert _login(capsys, tmp_path, rp, cred, "--fault", "clone").counter <= stored  # an RP must refuse
    assert _login(capsys, tmp_path, rp, cred, "--fault", "counter-regression").counter < stored + 2
    assert _login(capsys, tmp_path, rp, cred, "--fault", "clear-uv").flags & 0x04 == 0


def test_register_fault_breaks_the_attestation(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               rp: Fido2Server) -> None:
    with pytest.raises(Exception, match=r"(?i)rp.?id"):
        _register(capsys, tmp_path, rp, "--fault", "wrong-rpid")


def test_unknown_fault_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                   rp: Fido2Server) -> None:
    (tmp_path / "o.json").write_text(json.dumps({"challenge": "AAAA", "rpId": "example.com"}))
    rc, _, err = _run(capsys, "fido2", "login", "k", "--options", str(tmp_path / "o.json"), "--fault", "nope")
    assert rc != 0 and err.startswith("error: unknown fault 'nope'") and err.count("\n") == 1


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    env = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "tokens._cli.main", "fido2"]
    subprocess.run([*cli, "new", "k"], check=True, env=env, capture_output=True, timeout=60)
    proc = subprocess.Popen([*cli, "serve", "k", "--port", "0", "--reply-port", "0", "--control-port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _control(ready: dict[str, Any], path: str) -> dict[str, Any]:
    with urllib.request.urlopen(ready["control_url"] + path, timeout=5) as r:
        return dict(json.loads(r.read()))


def test_serve_control_arms_faults_for_the_next_n_assertions(served: dict[str, Any]) -> None:
    server = Fido2Server(RP)
    dev = open_udp_device(port=served["port"], reply_port=0)
    client = Fido2Client(dev, DefaultClientDataCollector("https://example.com"))
    opts, state = server.register_begin({"id": b"u", "name": "alice"}, user_verification="discouraged")
    cred = server.register_complete(state, client.make_credential(opts.public_key)).credential_data
    assert "ForNext" in _control(served, "/fault?name=bad-signature&count=2")["signer"]
    outcomes = []
    for _ in range(3):
        opts, state = server.authenticate_begin([cred], user_verification="discouraged")  # type: ignore[list-item]
        resp = client.get_assertion(opts.public_key).get_response(0)
        try:
            server.authenticate_complete(state, [cred], resp)  # type: ignore[list-item]
            outcomes.append("ok")
        except Exception:
            outcomes.append("refused")
    assert outcomes == ["refused", "refused", "ok"]
    dev.close()
    with pytest.raises(urllib.error.HTTPError) as ei:
        _control(served, "/fault?name=nope")
    assert ei.value.code == 400


def test_serve_control_unplugs_and_replugs(served: dict[str, Any]) -> None:
    assert _control(served, "/usb1/power/off")["powered"] is False
    with pytest.raises(TransportError):
        open_udp_device(port=served["port"], reply_port=0, timeout=0.5)
    assert _control(served, "/usb1/power/on")["powered"] is True
    dev = open_udp_device(port=served["port"], reply_port=0)
    assert dev.ping(b"back") == b"back"
    dev.close()
