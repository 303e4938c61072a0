"""PSKC (RFC 6030) import: plain, pre-shared-key and passphrase encrypted, TimeDrift honoured.

The files are written by python-pskc itself (an independent implementation of the format)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pskc
import pyotp
import pytest

from tokens._cli.main import main
from tokens.clock import ManualClock
from tokens.otp import encode_secret
from tokens.verifier import ImportFormatError, Kind, MemoryStore, Reason, SQLiteStore, Status, Verifier
from tokens.verifier.pskc_import import import_pskc

from .conftest import SECRET, START

TOTP_URN = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
HOTP_URN = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
PSK = bytes(range(16))
SECRET2 = bytes(range(100, 132))

# RFC 6030 Figure 2, verbatim structure (plain-text HOTP key)
RFC6030_FIG2 = """<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" Id="exampleID1" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <DeviceInfo><Manufacturer>Manufacturer</Manufacturer><SerialNo>987654321</SerialNo></DeviceInfo>
    <CryptoModuleInfo><Id>CM_ID_001</Id></CryptoModuleInfo>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <Issuer>Issuer</Issuer>
      <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/></AlgorithmParameters>
      <Data>
        <Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>
        <Counter><PlainValue>0</PlainValue></Counter>
      </Data>
    </Key>
  </KeyPackage>
</KeyContainer>
"""


def _write(path: Path, *, psk: bytes | None = None, passphrase: str | None = None) -> None:
    c = pskc.PSKC()
    c.add_key(serial="TOTP-1", algorithm=TOTP_URN, secret=SECRET, response_length=6, time_interval=30,
              time_drift=4, algorithm_suite="HMAC-SHA1", issuer="ACME")
    c.add_key(serial="HOTP-1", algorithm=HOTP_URN, secret=SECRET2, response_length=8, counter=42,
              algorithm_suite="SHA256")
    c.add_key(serial="AES-1", algorithm="http://www.yubico.com/#yubikey-aes", secret=b"k" * 16)
    if psk is not None:
        c.encryption.setup_preshared_key(key=psk)
    elif passphrase is not None:
        c.encryption.setup_pbkdf2(passphrase)
    c.write(str(path))


def test_rfc6030_plain_example(tmp_path: Path) -> None:
    f = tmp_path / "fig2.pskcxml"
    f.write_text(RFC6030_FIG2)
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    res = import_pskc(v, f)
    assert [(r.serial, r.imported, r.kind) for r in res] == [("987654321", True, "hotp")]
    cred = v.get("987654321")
    assert cred.kind is Kind.HOTP and cred.digits == 8 and cred.secret == b"12345678901234567890"
    ref = pyotp.HOTP(encode_secret(cred.secret), digits=8)
    assert v.enable("987654321", ref.at(0), ref.at(1)).ok


@pytest.mark.parametrize("mode", ["psk", "passphrase"])
def test_encrypted_import_and_time_drift(tmp_path: Path, mode: str) -> None:
    f = tmp_path / "keys.pskcxml"
    if mode == "psk":
        _write(f, psk=PSK)
    else:
        _write(f, passphrase="correct horse")
    assert base64.b64encode(SECRET) not in f.read_bytes(), "the secret is encrypted in the file"
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    kw = {"key": PSK} if mode == "psk" else {"passphrase": "correct horse"}
    res = import_pskc(v, f, status=Status.PENDING, **kw)  # type: ignore[arg-type]
    assert [(r.serial, r.imported) for r in res] == [("TOTP-1", True), ("HOTP-1", True), ("AES-1", False)]
    t = v.get("TOTP-1")
    assert t.kind is Kind.TOTP and t.offset_steps == 4 and t.secret == SECRET and t.issuer == "ACME"
    h = v.get("HOTP-1")
    assert h.algorithm.value == "SHA256" and h.digits == 8 and h.counter == 42 and h.secret == SECRET2
    # TimeDrift 4 centres the enrollment search: a token 14 steps ahead is found with a ±10 window
    ref = pyotp.TOTP(encode_secret(SECRET))
    assert v.enable("TOTP-1", ref.at(START + 13 * 30), ref.at(START + 14 * 30)).offset_steps == 14
    href = pyotp.HOTP(encode_secret(SECRET2), digits=8, digest="sha256")
    assert v.enable("HOTP-1", href.at(43), href.at(44)).ok
    again = import_pskc(v, f, **kw)  # type: ignore[arg-type]
    assert [r.reason for r in again][:2] == ["serial already registered"] * 2


def test_wrong_or_missing_key(tmp_path: Path) -> None:
    f = tmp_path / "keys.pskcxml"
    _write(f, psk=PSK)
    v = Verifier(MemoryStore())
    with pytest.raises(ImportFormatError, match="encrypted"):
        import_pskc(v, f)
    with pytest.raises(ImportFormatError, match="wrong key"):
        import_pskc(v, f, key=bytes(16))
    bad = tmp_path / "bad.xml"
    bad.write_text("<not pskc")
    with pytest.raises(ImportFormatError, match="cannot read"):
        import_pskc(v, bad)


def test_cli_import_active(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "keys.pskcxml"
    _write(f, psk=PSK)
    db = tmp_path / "v.db"
    argv = ["verifier", "import-pskc", str(f), "--key", PSK.hex(), "--active", "--db", str(db), "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert SECRET.hex() not in out and encode_secret(SECRET) not in out
    with SQLiteStore(db) as s:
        v = Verifier(s)
        assert v.get("TOTP-1").status is Status.ACTIVE
        ref = pyotp.TOTP(encode_secret(SECRET))
        assert v.verify("TOTP-1", ref.at(START + 4 * 30), at=START).reason is Reason.OK
    assert main(["verifier", "import-pskc", str(f), "--key", "zz", "--db", str(db)]) == 1


# ---------------------------------------------------------------- attack run, finding 6

def _package(serial: str, secret_b64: str, *, interval: str | None = None, algo: str = TOTP_URN) -> str:
    ti = f"<TimeInterval><PlainValue>{interval}</PlainValue></TimeInterval>" if interval is not None else ""
    return (f"<KeyPackage><DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo>"
            f'<Key Id="{serial}-k" Algorithm="{algo}"><Data><Secret><PlainValue>{secret_b64}</PlainValue>'
            f"</Secret>{ti}</Data></Key></KeyPackage>")


def _container(*packages: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">'
            + "".join(packages) + "</KeyContainer>")


GOOD = base64.b64encode(SECRET).decode()


def test_finding6_non_base64_secret_is_a_per_key_error(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "mixed.pskcxml"
    f.write_text(_container(_package("GOOD-1", GOOD), _package("BAD-1", "!!!notbase64***"),
                            _package("GOOD-2", GOOD)))
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    res = import_pskc(v, f)
    assert [(r.serial, r.outcome.value) for r in res] == [("GOOD-1", "imported"), ("BAD-1", "error"),
                                                          ("GOOD-2", "imported")]
    assert "unreadable key package" in res[1].reason
    assert v.store.get("BAD-1") is None
    db = tmp_path / "v.sqlite3"
    rc = main(["verifier", "import-pskc", str(f), "--db", str(db), "--json"])
    out = capsys.readouterr()
    assert rc == 1, "a broken key is a failed import (exit 1), not an internal error (70)"
    assert [r["outcome"] for r in json.loads(out.out)] == ["imported", "error", "imported"]
    assert out.err.count("\n") == 1 and out.err.startswith("error: 1 key(s)")


def test_finding6_one_bad_key_leaves_no_half_state(tmp_path: Path) -> None:
    """Per key (default): good keys in, the bad one out, each reported.  --atomic: nothing at all."""
    f = tmp_path / "mixed.pskcxml"
    f.write_text(_container(_package("GOOD-1", GOOD), _package("BAD-1", GOOD, interval="0")))
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    res = import_pskc(v, f, atomic=True)
    assert [(r.serial, r.outcome.value) for r in res] == [("GOOD-1", "skipped"), ("BAD-1", "error")]
    assert "atomic" in res[0].reason
    assert v.credentials() == []
    res = import_pskc(v, f)
    assert [(r.serial, r.outcome.value) for r in res] == [("GOOD-1", "imported"), ("BAD-1", "error")]
    assert [c.serial for c in v.credentials()] == ["GOOD-1"]


@pytest.mark.parametrize("interval", ["0", "-30"])
def test_finding6_time_interval_zero_is_an_error_not_30(tmp_path: Path, interval: str) -> None:
    f = tmp_path / "zero.pskcxml"
    f.write_text(_container(_package("Z-1", GOOD, interval=interval), _package("OK-60", GOOD, interval="60")))
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    res = import_pskc(v, f)
    assert res[0].outcome.value == "error" and "TimeInterval" in res[0].reason
    assert v.store.get("Z-1") is None
    assert res[1].imported and v.get("OK-60").period == 60


def test_finding6_duplicates_and_short_secrets_are_reported(tmp_path: Path) -> None:
    f = tmp_path / "dup.pskcxml"
    short = base64.b64encode(b"short").decode()
    f.write_text(_container(_package("D-1", GOOD), _package("D-1", GOOD), _package("S-1", short),
                            _package("AES-1", GOOD, algo="http://www.yubico.com/#yubikey-aes")))
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    res = import_pskc(v, f)
    assert [(r.serial, r.outcome.value) for r in res] == [("D-1", "imported"), ("D-1", "error"),
                                                          ("S-1", "error"), ("AES-1", "skipped")]


def test_missing_file_says_so(tmp_path: Path) -> None:
    v = Verifier(MemoryStore())
    with pytest.raises(ImportFormatError, match="No such file"):
        import_pskc(v, tmp_path / "nosuch.xml")
    (tmp_path / "other.xml").write_text("<html/>")
    with pytest.raises(ImportFormatError, match="not a PSKC"):
        import_pskc(v, tmp_path / "other.xml")


def test_pending_import_then_enable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PSKC imports are pending by default; 'verifier enable' activates them with two codes."""
    f = tmp_path / "keys.pskcxml"
    _write(f)
    db = str(tmp_path / "v.sqlite3")
    assert main(["verifier", "import-pskc", str(f), "--db", db]) == 0
    ref = pyotp.TOTP(encode_secret(SECRET))
    at = START + 4 * 30  # TimeDrift 4: the token runs four steps ahead
    assert main(["verifier", "check", "TOTP-1", ref.at(at + 120), "--at", str(at), "--db", db]) == 1
    assert main(["verifier", "enable", "TOTP-1", ref.at(at + 90), ref.at(at + 120), "--at", str(at),
                 "--db", db]) == 0
    capsys.readouterr()
