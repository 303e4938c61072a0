"""``tokensim fido2``: JSON output and one-line errors."""

from __future__ import annotations

import json

import pytest

from tokens._cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_new_list_show_credentials_reset(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "fido2", "new", "k", "--alg", "EdDSA", "--attestation", "batch", "--pin", "1234",
                     "--uv", "auto", "--json")
    info = json.loads(out)
    assert rc == 0 and info["algorithms"] == ["EdDSA"] and info["pin_set"] and info["uv"] == "auto"
    assert "master_key" not in out and "private" not in out
    rc, out, _ = run(capsys, "fido2", "list", "--json")
    assert [r["name"] for r in json.loads(out)] == ["k"]
    rc, out, _ = run(capsys, "fido2", "show", "k", "--json")
    assert json.loads(out)["attestation_ca"]
    rc, out, _ = run(capsys, "fido2", "show", "k", "--ca-pem")
    assert out.startswith("-----BEGIN CERTIFICATE-----")

    from tokens.device import EnrollRequest
    from tokens.fido2.device import open_named

    with open_named("k", pin="1234") as d:
        d.enroll(EnrollRequest(account="carol", rp_id="example.net", resident=True))
    rc, out, _ = run(capsys, "fido2", "credentials", "k", "--json")
    creds = json.loads(out)
    assert rc == 0
    assert [(c["rp_id"], c["user_name"], c["alg"]) for c in creds] == [("example.net", "carol", "EdDSA")]
    rc, out, _ = run(capsys, "fido2", "reset", "k", "--json")
    assert rc == 0 and json.loads(out)["reset"] is True
    rc, out, _ = run(capsys, "fido2", "credentials", "k", "--json")
    assert json.loads(out) == []
    rc, out, _ = run(capsys, "fido2", "show", "k", "--json")
    assert json.loads(out)["pin_set"] is False


@pytest.mark.parametrize("argv, message", [
    (["fido2", "show", "nope"], "no FIDO2 authenticator named 'nope'"),
    (["fido2", "new", "a/b"], "invalid authenticator name"),
    (["fido2", "new", "p", "--pin", "12"], "PIN must be 4 to 63 characters"),
    (["fido2", "reset", "nope"], "no FIDO2 authenticator"),
    (["fido2", "credentials", "nope"], "no FIDO2 authenticator"),
])
def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_duplicate_and_ca_without_batch(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "fido2", "new", "d", "--attestation", "none")[0] == 0
    rc, _, err = run(capsys, "fido2", "new", "d")
    assert rc == 1 and "already exists" in err and err.count("\n") == 1
    rc, _, err = run(capsys, "fido2", "show", "d", "--ca-pem")
    assert rc == 1 and "no batch attestation" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["fido2", "new", "x", "--alg", "PS512"], ["fido2", "serve", "x", "--port", "70000"],
                 ["fido2"]):
        with pytest.raises(SystemExit) as ei:
            main(argv)
        assert ei.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1


def test_serve_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    assert run(capsys, "fido2", "new", "s", "--attestation", "none")[0] == 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        rc, _out, err = run(capsys, "fido2", "serve", "s", "--port", str(sock.getsockname()[1]))
    assert rc == 1 and "cannot listen on udp://127.0.0.1" in err and err.count("\n") == 1


def test_register_and_login_play_the_browser(capsys: pytest.CaptureFixture[str], tmp_path: object,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An RP in any language: options JSON in, the browser's response JSON out, verified by Fido2Server."""
    import io
    from pathlib import Path

    from fido2.server import Fido2Server

    assert run(capsys, "fido2", "new", "web", "--pin", "1234", "--json")[0] == 0
    server = Fido2Server({"id": "example.com", "name": "Example"})
    opts, state = server.register_begin({"id": b"user-1", "name": "alice"}, user_verification="required")
    path = Path(str(tmp_path)) / "create.json"
    path.write_text(json.dumps(dict(opts)))
    rc, out, err = run(capsys, "fido2", "register", "web", "--options", str(path), "--pin", "1234")
    assert rc == 0, err
    auth_data = server.register_complete(state, json.loads(out))
    assert auth_data.is_user_verified() and auth_data.credential_data is not None

    opts, state = server.authenticate_begin([auth_data.credential_data], user_verification="required")
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(dict(opts))))
    rc, out, err = run(capsys, "fido2", "login", "web", "--options", "-", "--pin", "1234",
                       "--origin", "https://example.com")
    assert rc == 0, err
    server.authenticate_complete(state, [auth_data.credential_data], json.loads(out))

    # wrong PIN, bad JSON, wrong origin: one line each
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(dict(opts))))
    rc, _, err = run(capsys, "fido2", "login", "web", "--options", "-", "--pin", "9999")
    assert rc == 1 and "PIN_INVALID" in err and err.count("\n") == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("{nope"))
    rc, _, err = run(capsys, "fido2", "login", "web", "--options", "-")
    assert rc == 1 and "not JSON" in err and err.count("\n") == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(dict(opts))))
    rc, _, err = run(capsys, "fido2", "login", "web", "--options", "-", "--origin", "ftp://x")
    assert rc == 1 and "origin must be https" in err
    rc, _, err = run(capsys, "fido2", "login", "web", "--options", str(Path(str(tmp_path)) / "missing.json"))
    assert rc == 1 and "cannot read" in err
