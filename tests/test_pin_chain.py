"""The FIDO2 PIN chain of ``fido2 register/login`` (docs/device-urls.md): ``--pin``, then
``$TOKENSIM_PIN``, then a terminal prompt when stdin is a terminal, else one line naming both —
and the origin/RP id check.  Every response is verified by python-fido2's Fido2Server."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fido2.server import Fido2Server

from tokens._cli.main import main

TOKENSIM = str(Path(sys.executable).parent / "tokensim")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def rp(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
       ) -> tuple[Fido2Server, Path, object]:
    """A key 'web' with PIN 1234 and an RP's creation options (UV required) in a file; stdin is a pipe."""
    monkeypatch.delenv("TOKENSIM_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(capsys, "fido2", "new", "web", "--pin", "1234", "--json")[0] == 0
    server = Fido2Server({"id": "example.com", "name": "Example"})
    opts, state = server.register_begin({"id": b"user-1", "name": "alice"}, user_verification="required")
    path = tmp_path / "create.json"
    path.write_text(json.dumps(dict(opts)))
    return server, path, state


def test_the_pin_flag_comes_first(rp: tuple[Fido2Server, Path, object], capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    server, path, state = rp
    monkeypatch.setenv("TOKENSIM_PIN", "9999")  # wrong: the flag wins
    rc, out, err = run(capsys, "fido2", "register", "web", "--options", str(path), "--pin", "1234")
    assert rc == 0, err
    assert server.register_complete(state, json.loads(out)).is_user_verified()


def test_then_the_environment(rp: tuple[Fido2Server, Path, object], capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    server, path, state = rp
    monkeypatch.setenv("TOKENSIM_PIN", "1234")
    rc, out, err = run(capsys, "fido2", "register", "web", "--options", str(path))
    assert rc == 0, err
    assert server.register_complete(state, json.loads(out)).is_user_verified()
    monkeypatch.setenv("TOKENSIM_PIN", "4321")  # and it really is the PIN that is used
    rc, _, err = run(capsys, "fido2", "register", "web", "--options", str(path))
    assert rc == 1 and "PIN_INVALID" in err


def test_without_a_terminal_one_line_naming_both(rp: tuple[Fido2Server, Path, object],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _, path, _ = rp
    rc, out, err = run(capsys, "fido2", "register", "web", "--options", str(path))
    assert rc == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("error: the authenticator needs its PIN for example.com: pass --pin PIN or set "
                          "TOKENSIM_PIN")


def test_no_pin_is_asked_when_the_key_has_none(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENSIM_PIN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(capsys, "fido2", "new", "nopin", "--json")[0] == 0
    server = Fido2Server({"id": "example.com", "name": "Example"})
    opts, state = server.register_begin({"id": b"u", "name": "bob"}, user_verification="discouraged")
    (tmp_path / "o.json").write_text(json.dumps(dict(opts)))
    rc, out, err = run(capsys, "fido2", "register", "nopin", "--options", str(tmp_path / "o.json"))
    assert rc == 0, err
    assert server.register_complete(state, json.loads(out)).credential_data is not None


def _in_pty(argv: list[str], env: dict[str, str], answer: str | None,
            timeout: float = 60.0) -> tuple[int, str]:
    """Run argv with a pseudo-terminal as stdin/stdout/stderr; type ``answer`` at the PIN prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen, answered, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and answer is not None and b"PIN for example.com: " in seen:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return rc, seen.decode(errors="replace")


def test_on_a_terminal_the_pin_is_asked(rp: tuple[Fido2Server, Path, object], tmp_path: Path) -> None:
    server, path, state = rp
    env = {**os.environ, "TOKENSIM_HOME": os.environ["TOKENSIM_HOME"]}
    env.pop("TOKENSIM_PIN", None)
    out_file = tmp_path / "response.json"
    rc, screen = _in_pty(["bash", "-c", f"{TOKENSIM} fido2 register web --options {path} > {out_file}"],
                         env, answer="1234")
    assert rc == 0, screen
    assert "PIN for example.com: " in screen and "1234" not in screen  # asked, never echoed
    assert server.register_complete(state, json.loads(out_file.read_text())).is_user_verified()


def test_on_a_terminal_an_empty_answer_is_one_line(rp: tuple[Fido2Server, Path, object]) -> None:
    _, path, _ = rp
    env = {k: v for k, v in os.environ.items() if k != "TOKENSIM_PIN"}
    rc, screen = _in_pty([TOKENSIM, "fido2", "register", "web", "--options", str(path)], env, answer="")
    assert rc == 1, screen
    assert "error: no PIN entered for example.com (or pass --pin PIN, or set TOKENSIM_PIN)" in screen


def test_origin_that_may_not_use_the_rp_id_is_explained(rp: tuple[Fido2Server, Path, object],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, path, _ = rp
    rc, _, err = run(capsys, "fido2", "register", "web", "--options", str(path), "--pin", "1234",
                     "--origin", "https://evil.com")
    assert rc == 1 and err.count("\n") == 1
    assert "origin https://evil.com may not use the RP id 'example.com'" in err
    assert "--origin https://example.com" in err
    # a subdomain origin may use its parent's RP id, as in a browser
    rc, _, err = run(capsys, "fido2", "register", "web", "--options", str(path), "--pin", "1234",
                     "--origin", "https://login.example.com")
    assert rc == 0, err
