"""PSKC (RFC 6030) import: plain, pre-shared-key and passphrase encrypted, TimeDrift honoured.

The files are written by python-pskc itself (an independent implementation of the format)."""

from __future__ import annotations

import base64
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
