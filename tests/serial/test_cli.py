"""``tokensim sim serve`` as a real subprocess, driven with ``tokensim hw ...`` (in-process main)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pskc
import pyotp
import pytest

from tokens._cli.main import main
from tokens.otp import encode_secret

ROOT = Path(__file__).resolve().parents[2]


class Served:
    def __init__(self, proc: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.proc, self.info = proc, info

    @property
    def port(self) -> str:
        return str(self.info["port"])


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> Served:
        env = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "tokens", "sim", "serve", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        procs.append(proc)
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "sim serve printed nothing within 20 s"
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        return Served(proc, json.loads(line))

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(10)
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_serve_provision_pskc_and_read_codes(sim: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSIM_HOME", str(tmp_path / "home"))
    psk = "00112233445566778899aabbccddeeff"
    pskc_file = tmp_path / "batch.xml"
    s = sim("--tcp", "0", "--serial", "TS55500011", "--provision", "2", "--pskc-out", str(pskc_file),
            "--pskc-psk", psk, "--drift-ppm", "30", "--offset", "-7")
    assert s.info["serial"] == "TS55500011" and s.port.startswith("socket://127.0.0.1:")
    assert oct(pskc_file.stat().st_mode & 0o777) == "0o600"
    doc = pskc.PSKC(str(pskc_file))
    assert doc.encryption.is_encrypted
    doc.encryption.key = bytes.fromhex(psk)
    keys = {k.id: k for k in doc.keys}
    assert set(keys) == {"TS55500011", "TS55500011-1"}
    assert all(k.serial == k.id and k.time_interval == 30 and k.response_length == 6 for k in keys.values())

    rc, out, _ = run(capsys, "hw", "code", "--port", s.port, "--slot", "1", "--json")
    assert rc == 0
    d = json.loads(out)
    secret = keys["TS55500011-1"].secret
    assert secret is not None
    assert d["code"] == pyotp.TOTP(encode_secret(secret)).at(d["device_time"])

    # the verifier imports the vendor file and accepts the codes read through the driver, once each
    rc, out, _ = run(capsys, "verifier", "import-pskc", str(pskc_file), "--key", psk, "--active", "--json")
    assert rc == 0, out
    rc, out, _ = run(capsys, "hw", "code", "--port", s.port, "--slot", "0", "--json")
    code = json.loads(out)["code"]
    rc, out, _ = run(capsys, "verifier", "check", "TS55500011", code, "--json")
    assert rc == 0 and json.loads(out)["ok"] is True
    rc, out, _ = run(capsys, "verifier", "check", "TS55500011", code, "--json")
    assert rc == 1 and json.loads(out)["reason"] == "replayed"
    rc, out, _ = run(capsys, "verifier", "check", "TS55500011-1", d["code"], "--json")
    assert rc == 0 and json.loads(out)["ok"] is True

    rc, out, _ = run(capsys, "hw", "list", "--json")
    assert rc == 0
    assert [x["serial"] for x in json.loads(out)["devices"] if x["kind"] == "simulator"] == ["TS55500011"]

    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0
    assert not list((tmp_path / "home" / "sim").glob("*.json"))  # registry entry removed


def test_hw_commands_on_a_pty(sim: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s = sim("--pin", "8642", "--offset", "90")
    assert s.port.startswith("/dev/")
    rc, out, _ = run(capsys, "hw", "info", "--port", s.port, "--json")
    info = json.loads(out)
    assert rc == 0 and info["identity"] == s.info["serial"] and info["time_valid"]
    assert 85 < info["clock_error_s"] < 95

    rc, out, _ = run(capsys, "hw", "provision", "--port", s.port, "--slot", "2", "--random", "--pin", "8642",
                     "--json")
    assert rc == 0 and "uri" not in json.loads(out) and "secret" not in out
    secret = encode_secret(bytes(range(20)))
    rc, out, _ = run(capsys, "hw", "provision", "--port", s.port, "--slot", "1", "--secret", secret,
                     "--pin", "8642", "--show-secret", "--json")
    assert rc == 0 and secret in json.loads(out)["uri"]

    rc, out, err = run(capsys, "hw", "set-time", "--port", s.port, "--pin", "8642")
    assert rc == 1 and err.startswith("error: SET_TIME:") and "backwards" in err and err.count("\n") == 1
    rc, out, _ = run(capsys, "hw", "set-time", "--port", s.port, "--pin", "8642", "--force", "--json")
    assert rc == 0 and -95 < json.loads(out)["correction_s"] < -85

    rc, out, _ = run(capsys, "hw", "code", "--port", s.port, "--slot", "1", "--json")
    d = json.loads(out)
    assert rc == 0 and d["code"] == pyotp.TOTP(secret).at(d["device_time"])

    rc, _, err = run(capsys, "hw", "provision", "--port", s.port, "--slot", "0", "--random", "--pin", "0000")
    assert rc == 1 and "wrong admin PIN" in err and "attempt(s) left" in err

    rc, out, _ = run(capsys, "hw", "code", "--port", s.port, "--slot", "3")
    assert rc == 1

    s.proc.send_signal(signal.SIGINT)
    assert s.proc.wait(10) == 0


def test_button_and_faults_options(sim: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A simulated user presses the button 0.2 s after asked, on a line that loses and damages frames."""
    s = sim("--tcp", "0", "--provision", "1", "--hotp", "--button-delay", "0.2", "--corrupt", "0.15",
            "--drop", "0.1", "--fault-seed", "5")
    codes = []
    for _ in range(3):
        rc, out, err = run(capsys, "hw", "code", "--port", s.port, "--retries", "8", "--json")
        assert rc == 0, err
        codes.append(json.loads(out))
    assert [c["counter"] for c in codes] == [0, 1, 2]  # no press was lost or counted twice
    rc, out, _ = run(capsys, "hw", "info", "--port", s.port, "--retries", "8", "--json")
    assert "BUTTON" in json.loads(out)["details"]["capabilities"]
    s.proc.terminate()
    assert s.proc.wait(10) == 0


def test_battery_dies_then_a_new_one_needs_set_time(sim: Any, capsys: pytest.CaptureFixture[str]) -> None:
    s = sim("--battery-life", "1.0", "--provision", "1", "--pin", "4321")
    select.select([], [], [], 1.3)  # let the coin cell run flat (real time: sim serve runs on the host clock)
    rc, out, err = run(capsys, "hw", "code", "--port", s.port)
    assert rc == 1 and "battery" in err
    rc, out, _ = run(capsys, "hw", "info", "--port", s.port, "--json")
    assert "CLOCK_STOPPED" in json.loads(out)["details"]["state"]
    s.proc.send_signal(signal.SIGUSR1)  # fit a new battery
    select.select([], [], [], 0.3)
    rc, out, err = run(capsys, "hw", "code", "--port", s.port)
    assert rc == 1 and "not set" in err
    rc, out, _ = run(capsys, "hw", "set-time", "--port", s.port, "--pin", "4321", "--json")
    assert rc == 0 and json.loads(out)["before"] < 5  # the RTC restarted from 0
    rc, out, _ = run(capsys, "hw", "code", "--port", s.port, "--json")
    assert rc == 0 and len(json.loads(out)["code"]) == 6
    s.proc.terminate()
    assert s.proc.wait(10) == 0


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, _, err = run(capsys, "hw", "code", "--port", str(tmp_path / "ttyNOPE"))
    assert rc == 1 and err.startswith("error: cannot open serial port") and err.count("\n") == 1
    rc, _, err = run(capsys, "sim", "serve", "--pskc-out", str(tmp_path / "x.xml"))
    assert rc == 1 and "--provision" in err
    with pytest.raises(SystemExit) as e:
        main(["hw", "provision", "--port", "x", "--slot", "0"])
    assert e.value.code == 2
    capsys.readouterr()


def test_demo_section(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "demo", "--only", "serial hardware")
    assert rc == 0
    assert "imported 1 key(s)" in out and "-> ok" in out and "the verifier followed it" in out
    assert "invalid" not in out
