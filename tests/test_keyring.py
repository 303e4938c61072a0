"""#19 finding 11: seeds sealed at rest (AES-GCM, key id per value) in the verifier stores and the
device store; a key from a file or the environment; rotation; one clear error for a missing or
wrong key; plaintext only when asked."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tokens import keyring as keyring_mod
from tokens._cli.main import main
from tokens.keyring import ENV_FILE, ENV_KEY, ENV_PLAINTEXT, Keyring, KeyringError, default_keyring
from tokens.store import DeviceStore
from tokens.verifier import SQLiteStore, Status, Verifier
from tokens.virtual import VirtualTOTP

SECRET = b"seed-that-must-not-show-20"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKENSIM_HOME", str(tmp_path / "home"))
    for name in (ENV_KEY, ENV_FILE, ENV_PLAINTEXT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(keyring_mod, "_default", None)  # forget the keyring of earlier tests


def _raw(path: Path) -> bytes:
    data = path.read_bytes()
    for extra in (path.with_name(path.name + "-wal"),):
        if extra.exists():
            data += extra.read_bytes()
    return data


def test_finding11_verifier_seeds_are_sealed_at_rest(tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite3"
    with SQLiteStore(db) as s:
        Verifier(s).register("S1", SECRET, status=Status.ACTIVE, at=0)
        assert s.get("S1").secret == SECRET  # type: ignore[union-attr]
    assert SECRET not in _raw(db) and base64.b32encode(SECRET) not in _raw(db)
    row = sqlite3.connect(db).execute("SELECT secret_key, secret FROM credentials").fetchone()
    assert row[0] and row[0] == default_keyring().primary and len(row[1]) == 12 + len(SECRET) + 16
    keyfile = tmp_path / "home" / "keys"
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600, "the key file generated on first use is 0600"


def test_finding11_wrong_or_missing_key_is_one_clear_error(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "v.sqlite3"
    with SQLiteStore(db) as s:
        Verifier(s).register("S1", SECRET, at=0)
    other = tmp_path / "other-keys"
    ident = default_keyring().primary
    other.write_text(f"{ident} {base64.b64encode(os.urandom(32)).decode()}\n")
    monkeypatch.setenv(ENV_FILE, str(other))
    with SQLiteStore(db) as s, pytest.raises(KeyringError, match="wrong key"):
        s.get("S1")
    monkeypatch.setenv(ENV_KEY, os.urandom(32).hex())
    with SQLiteStore(db) as s, pytest.raises(KeyringError, match=r"sealed with key .* does not hold"):
        s.get("S1")
    rc = main(["verifier", "show", "S1", "--db", str(db)])
    assert rc != 0


def test_cli_says_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "v.sqlite3"
    with SQLiteStore(db) as s:
        Verifier(s).register("S1", SECRET, at=0)
    monkeypatch.setenv(ENV_KEY, os.urandom(32).hex())
    assert main(["verifier", "list", "--db", str(db)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "TOKENSIM_KEY" in err[0]


def test_sealed_value_is_bound_to_its_owner() -> None:
    ring = Keyring([("k1", os.urandom(32))])
    ident, blob = ring.seal(SECRET, "alice")
    assert ring.open(ident, blob, "alice") == SECRET
    with pytest.raises(KeyringError, match="wrong key or damaged"):
        Keyring([("k1", os.urandom(32))]).open(ident, blob, "alice")
    with pytest.raises(KeyringError):
        ring.open(ident, blob, "mallory")  # a sealed seed copied into another row does not open
    with pytest.raises(KeyringError):
        ring.open(ident, blob[:-1] + bytes([blob[-1] ^ 1]), "alice")


def test_plaintext_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PLAINTEXT, "1")
    db = tmp_path / "v.sqlite3"
    with SQLiteStore(db) as s:
        Verifier(s).register("S1", SECRET, at=0)
    assert SECRET in _raw(db)
    assert not (tmp_path / "home" / "keys").exists()


def test_env_key_and_key_file_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = os.urandom(32)
    monkeypatch.setenv(ENV_KEY, base64.b64encode(raw).decode())
    assert default_keyring().ids() == ["env"]
    monkeypatch.setenv(ENV_KEY, "too-short")
    with pytest.raises(KeyringError, match="32 bytes"):
        default_keyring()
    monkeypatch.delenv(ENV_KEY)
    bad = tmp_path / "bad"
    bad.write_text("only-one-field\n")
    monkeypatch.setenv(ENV_FILE, str(bad))
    with pytest.raises(KeyringError, match="line 1"):
        default_keyring()
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "missing"))
    with pytest.raises(KeyringError, match="does not exist"):
        default_keyring()


def test_finding11_device_store_is_sealed_and_rotation_reseals_everything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    devices = tmp_path / "home" / "devices.json"
    ds = DeviceStore(devices)
    ds.add("phone", VirtualTOTP(SECRET))
    text = devices.read_text()
    assert "secret=" not in text and base64.b32encode(SECRET).decode().rstrip("=") not in text
    assert ds.get("phone").secret == SECRET  # type: ignore[attr-defined]
    db = tmp_path / "home" / "verifier.sqlite3"
    with SQLiteStore(db) as s:
        Verifier(s).register("S1", SECRET, at=0)
    old = default_keyring().primary
    assert main(["key", "rotate", "--drop-old", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    new = report["primary"]
    assert new != old and report["keys"] == [new] and report["devices"] == 1
    assert list(report["stores"].values()) == [1]
    ring = default_keyring(reload=True)
    assert ring.ids() == [new]
    with SQLiteStore(db) as s:  # opens with only the new key: everything was resealed
        assert s.get("S1").secret == SECRET  # type: ignore[union-attr]
    assert json.loads(devices.read_text())["devices"]["phone"]["sealed_uri"]["key"] == new
    assert DeviceStore(devices).get("phone").secret == SECRET  # type: ignore[attr-defined]
    assert main(["key", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["keys"] == [new]


def test_plaintext_device_store_of_older_versions_is_read_and_sealed_on_write(tmp_path: Path) -> None:
    devices = tmp_path / "home" / "devices.json"
    ds = DeviceStore(devices)
    ds.add("old", VirtualTOTP(SECRET))
    data = json.loads(devices.read_text())
    rec = data["devices"]["old"]
    box = rec.pop("sealed_uri")
    rec["uri"] = default_keyring().open(box["key"], base64.b64decode(box["data"]), "device:old").decode()
    devices.write_text(json.dumps(data))  # as an older tokensim wrote it: the seed in the URI
    assert DeviceStore(devices).get("old").secret == SECRET  # type: ignore[attr-defined]
    DeviceStore(devices).update_meta("old", note="touched")
    again = json.loads(devices.read_text())["devices"]["old"]
    assert "uri" not in again and again["sealed_uri"]["key"] == default_keyring().primary


def test_key_show_on_a_fresh_home_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    assert main(["key", "show", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["keys"] == [] and info["primary"] is None and "created on first use" in info["source"]
    assert not home.exists(), "a read-only command created the state directory"
    assert main(["key", "show"]) == 0
    assert "created on first use" in capsys.readouterr().out and not home.exists()
    ring = default_keyring()  # first real use creates it, 0600
    assert (home / "keys").stat().st_mode & 0o777 == 0o600
    assert main(["key", "show", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["keys"] == ring.ids() != []
