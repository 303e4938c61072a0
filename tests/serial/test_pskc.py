"""PSKC (RFC 6030) seed files of a provisioned batch, read back with python-pskc, and the codes the
tokens produce through the driver verified against the file's seeds (pyotp)."""

from __future__ import annotations

import io
from pathlib import Path

import pskc
import pyotp
import pytest

from firmware_sim.batch import HOTP_URN, TOTP_URN, ProvisionedKey, provision_slots, pskc_bytes, write_pskc
from firmware_sim.build import make_firmware
from firmware_sim.loopback import LoopbackPort
from hw.token import SerialToken
from tokens.clock import ManualClock
from tokens.otp import encode_secret

from .conftest import PIN, START


def _batch(clock: ManualClock, n_tokens: int = 3) -> tuple[list[SerialToken], list[ProvisionedKey]]:
    toks: list[SerialToken] = []
    keys: list[ProvisionedKey] = []
    for i in range(n_tokens):
        fw = make_firmware(serial=f"TS0000010{i}", reference=clock, pin=PIN)
        keys += provision_slots(fw, 1, algorithm="SHA256", digits=8, period=60)
        toks.append(SerialToken(LoopbackPort(fw), pin=PIN))
    return toks, keys


def test_plain_pskc_round_trip_and_codes_verify(tmp_path: Path) -> None:
    clock = ManualClock(START)
    toks, keys = _batch(clock)
    path = tmp_path / "batch.xml"
    write_pskc(path, keys)
    assert path.stat().st_mode & 0o777 == 0o600
    doc = pskc.PSKC(str(path))
    assert not doc.encryption.is_encrypted
    by_serial = {k.serial: k for k in doc.keys}
    assert sorted(by_serial) == [t.identity for t in toks]
    for tok in toks:
        k = by_serial[tok.identity]
        assert (k.id, k.algorithm, k.algorithm_suite) == (tok.identity, TOTP_URN, "HMAC-SHA256")
        assert (k.response_length, k.response_encoding) == (8, "DECIMAL")
        assert (k.time_interval, k.time_offset) == (60, 0)
        assert k.manufacturer == "tokensim" and k.model == "tokensim TS-1"
        assert k.secret is not None
        r = tok.get_code(0)
        assert r.code == pyotp.TOTP(encode_secret(k.secret), digits=8, digest="sha256", interval=60).at(
            r.time_ms / 1000)


@pytest.mark.parametrize("psk_len", [16, 32])
def test_encrypted_pskc_needs_the_key(psk_len: int) -> None:
    clock = ManualClock(START)
    _, keys = _batch(clock, 2)
    psk = bytes(range(psk_len))
    data = pskc_bytes(keys, psk=psk)
    secret_elements = [part.split(b"</pskc:Secret>")[0] for part in data.split(b"<pskc:Secret>")[1:]]
    assert len(secret_elements) == 2
    assert all(b"EncryptedValue" in e and b"PlainValue" not in e for e in secret_elements)
    doc = pskc.PSKC(io.BytesIO(data))
    assert doc.encryption.is_encrypted and doc.encryption.key_name == "Pre-shared-key"
    with pytest.raises(pskc.exceptions.DecryptionError):
        _ = doc.keys[0].secret
    doc.encryption.key = psk
    assert [k.secret for k in doc.keys] == [k.secret for k in keys]
    wrong = pskc.PSKC(io.BytesIO(data))
    wrong.encryption.key = bytes(psk_len)
    with pytest.raises(pskc.exceptions.DecryptionError):
        _ = wrong.keys[0].secret


def test_multi_slot_hotp_key_ids() -> None:
    fw = make_firmware(serial="TS00000200", reference=ManualClock(START), pin=PIN)
    keys = provision_slots(fw, 3, type="hotp")
    doc = pskc.PSKC(io.BytesIO(pskc_bytes(keys)))
    assert [k.id for k in doc.keys] == ["TS00000200", "TS00000200-1", "TS00000200-2"]
    assert all(k.algorithm == HOTP_URN and k.counter == 0 and k.serial == k.id for k in doc.keys)
    tok = SerialToken(LoopbackPort(fw), pin=PIN)
    for k in doc.keys:
        slot = 0 if k.id == "TS00000200" else int(str(k.id).rsplit("-", 1)[1])
        r = tok.get_code(slot)
        assert k.secret is not None and r.code == pyotp.HOTP(encode_secret(k.secret)).at(r.counter)
