"""``tokensim verifier ...`` end to end, in process, against a temp SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest

from tokens._cli.main import main
from tokens.clock import DriftModel
from tokens.otp import encode_secret
from tokens.store import DeviceStore
from tokens.virtual import VirtualHOTP, VirtualTOTP

from .conftest import SECRET, START

B32 = encode_secret(SECRET)
URI = f"otpauth://totp/ACME:bob?secret={B32}&issuer=ACME"
REF = pyotp.TOTP(B32)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    try:
        data = json.loads(out.out) if out.out.strip() else None
    except json.JSONDecodeError:
        data = out.out
    return rc, data, out.err


def test_enroll_check_replay_resync_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    rc, data, _ = run(capsys, "verifier", "enroll", "S1", "--uri", URI, "--code1", REF.at(START - 30),
                      "--code2", REF.at(START), "--at", str(START), "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["ok"] and data["offset_steps"] == 0
    t = START + 90
    rc, data, _ = run(capsys, "verifier", "check", "S1", REF.at(t), "--at", str(t), "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict)
    assert data["ok"] and data["reason"] == "ok" and data["auth_time"] == t and data["step"] == int(t) // 30
    assert set(data) >= {"ok", "reason", "step", "offset_steps", "retry_after", "auth_time"}
    rc, data, _ = run(capsys, "verifier", "check", "S1", REF.at(t), "--at", str(t + 1), "--db", db, "--json")
    assert rc == 1 and isinstance(data, dict) and data["reason"] == "replayed"
    rc, _, err = run(capsys, "verifier", "check", "S1", "000000", "--at", str(t + 2), "--db", db)
    assert rc == 1 and err.startswith("error: rejected:")
    later = START + 86400
    rc, data, _ = run(capsys, "verifier", "resync", "S1", REF.at(later + 3000), REF.at(later + 3030),
                      "--at", str(later), "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["offset_steps"] == 101
    rc, data, _ = run(capsys, "verifier", "show", "S1", "--db", db, "--json", "--at", str(later))
    assert rc == 0 and isinstance(data, dict) and data["status"] == "active" and data["drift"]["points"] == 1
    assert data["drift"]["window_coverage"] == 0.995 and data["drift"]["mean_interval_days"] is None
    rc, text, _ = run(capsys, "verifier", "show", "S1", "--db", db)
    assert rc == 0 and B32 not in str(text) and "S1" in str(text) and "99.5 %" in str(text)
    rc, data, _ = run(capsys, "verifier", "list", "--db", db, "--json")
    assert rc == 0 and isinstance(data, list) and [c["serial"] for c in data] == ["S1"]
    assert B32 not in json.dumps(data) and SECRET.hex() not in json.dumps(data)
    rc, data, _ = run(capsys, "verifier", "disable", "S1", "--db", db, "--json")
    assert rc == 0
    rc, data, _ = run(capsys, "verifier", "check", "S1", REF.at(later), "--db", db, "--json")
    assert rc == 1 and isinstance(data, dict) and data["reason"] == "not_enabled"


def test_enroll_failure_stays_pending_and_can_retry(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    rc, data, _ = run(capsys, "verifier", "enroll", "S2", "--uri", URI, "--code1", REF.at(START),
                      "--code2", REF.at(START), "--at", str(START), "--db", db, "--json")
    assert rc == 1 and isinstance(data, dict) and data["reason"] == "not_consecutive"
    rc, data, _ = run(capsys, "verifier", "enroll", "S2", "--uri", URI, "--auto", "--at", str(START),
                      "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["ok"]
    rc, _, err = run(capsys, "verifier", "enroll", "S2", "--uri", URI, "--auto", "--db", db)
    assert rc == 1 and "already exists" in err


def test_enroll_from_device_store_auto(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    devices = DeviceStore()
    dev = VirtualTOTP(SECRET, drift=DriftModel(offset=95, epoch=START))  # ~3 steps ahead
    devices.add("tok", dev)
    devices.add("hot", VirtualHOTP(SECRET, counter=7))
    rc, data, _ = run(capsys, "verifier", "enroll", "D1", "--device", "tok", "--auto", "--at", str(START),
                      "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["offset_steps"] == 3
    t = START + 600
    rc, data, _ = run(capsys, "verifier", "check", "D1", dev.code(at=t), "--at", str(t), "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["offset_steps"] == 3
    rc, data, _ = run(capsys, "verifier", "enroll", "H1", "--device", "hot", "--auto", "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["step"] == 8
    hot = DeviceStore().get("hot")
    assert isinstance(hot, VirtualHOTP) and hot.counter == 9, "the presses are saved to the device store"
    rc, data, _ = run(capsys, "verifier", "check", "H1", pyotp.HOTP(B32).at(9), "--db", db, "--json")
    assert rc == 0 and isinstance(data, dict) and data["step"] == 9


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    assert run(capsys, "verifier", "enroll", "S", "--uri", URI, "--db", db)[0] == 1
    assert run(capsys, "verifier", "enroll", "S", "--uri", URI, "--auto", "--code1", "1", "--db", db)[0] == 1
    rc, _, err = run(capsys, "verifier", "show", "missing", "--db", db)  # read-only: creates nothing
    assert rc == 1 and err.startswith("error: no verifier database at ") and not Path(db).exists()
    rc, _, err = run(capsys, "verifier", "enroll", "S", "--uri", "otpauth://bogus", "--auto", "--db", db)
    assert rc == 1 and err.startswith("error:")
    with pytest.raises(SystemExit) as e:
        main(["verifier", "check"])
    assert e.value.code == 2


def test_default_db_lives_under_tokensim_home(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSIM_HOME", str(tmp_path / "home"))
    rc, _, _ = run(capsys, "verifier", "enroll", "S", "--uri", URI, "--auto", "--json")
    assert rc == 0 and (tmp_path / "home" / "verifier.sqlite3").exists()


def test_demo_section_tells_the_drift_story(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--only", "MFA verifier"]) == 0
    out = capsys.readouterr().out
    assert "rate tracking missed 0, offset-only needed" in out
    assert "then replayed" in out and "locked" in out and "resync with two consecutive codes → ok" in out
