"""Regression tests for the security findings of issue #17 and #19 finding 8."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from fido2.ctap import CtapError
from fido2.ctap1 import APDU, ApduError, Ctap1
from fido2.ctap2.base import Ctap2
from fido2.ctap2.config import Config
from fido2.hid import CTAPHID
from fido2.server import Fido2Server
from fido2.webauthn import AuthenticatorData

from tokens._cli.main import main
from tokens.clock import ManualClock
from tokens.fido2 import Alg, Authenticator, AuthenticatorState, FlagOverride, SoftCtapDevice, inject
from tokens.fido2.adapters import platform
from tokens.fido2.errors import Fido2Error
from tokens.fido2.softdevice import VENDOR_POWER_CYCLE
from tokens.fido2.transport.ctaphid import BROADCAST, MAX_CHANNELS, CtapHidServer
from tokens.fido2.udp import UdpCtapHidServer, open_udp_device

APP, CHAL, CDH = hashlib.sha256(b"example.com").digest(), b"\xbb" * 32, b"\x01" * 32
RP, USER = {"id": "example.com", "name": "Example"}, {"id": b"u", "name": "alice"}


def test_vendor_power_cycle_is_opt_in() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    with pytest.raises(CtapError) as ei:
        SoftCtapDevice(a, allow_power_cycle=False).call(VENDOR_POWER_CYCLE)
    assert ei.value.code == CtapError.ERR.INVALID_COMMAND
    a.pin.consecutive_fails = 3
    with UdpCtapHidServer(SoftCtapDevice(a, allow_power_cycle=False), port=0, reply_port=None) as server:
        dev = open_udp_device(port=server.port, reply_port=0)
        with pytest.raises(CtapError):  # over the wire too: the reset window stays shut
            dev.call(VENDOR_POWER_CYCLE)
        dev.close()
    assert a.pin.consecutive_fails == 3
    SoftCtapDevice(a, allow_power_cycle=True).call(VENDOR_POWER_CYCLE)
    assert a.pin.consecutive_fails == 0


@pytest.mark.parametrize("allow", [False, True])
def test_serve_refuses_power_cycle_unless_allowed(allow: bool, tmp_path: Path) -> None:
    env = {**os.environ, "TOKENSIM_HOME": str(tmp_path)}
    cli = [sys.executable, "-m", "tokens._cli.main", "fido2"]
    subprocess.run([*cli, "new", "k"], check=True, env=env, capture_output=True, timeout=60)
    proc = subprocess.Popen([*cli, "serve", "k", "--port", "0", "--reply-port", "0"]
                            + (["--allow-power-cycle"] if allow else []),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        dev = open_udp_device(port=json.loads(proc.stdout.readline())["port"], reply_port=0)
        if allow:
            assert dev.call(VENDOR_POWER_CYCLE) == b""
        else:
            with pytest.raises(CtapError):
                dev.call(VENDOR_POWER_CYCLE)
        dev.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _ctap2_credential(a: Authenticator, alg: Alg = Alg.ES256, cred_protect: int | None = None) -> bytes:
    ext = {"credProtect": cred_protect} if cred_protect else None
    att = Ctap2(SoftCtapDevice(a)).make_credential(CDH, RP, USER, [{"type": "public-key", "alg": int(alg)}],
                                                   extensions=ext)
    assert att.auth_data.credential_data is not None
    return att.auth_data.credential_data.credential_id


def test_u2f_authenticate_refuses_cred_protect_3_and_non_ecdsa_handles() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    ctap1 = Ctap1(SoftCtapDevice(a))
    ok = _ctap2_credential(a)
    assert ctap1.authenticate(CHAL, APP, ok).counter >= 1  # a plain ES256 credential works over U2F
    for kh in (_ctap2_credential(a, cred_protect=3), _ctap2_credential(a, Alg.EDDSA),
               _ctap2_credential(a, Alg.ES384)):
        with pytest.raises(ApduError) as ei:
            ctap1.authenticate(CHAL, APP, kh)
        assert ei.value.code == APDU.WRONG_DATA
    assert ctap1.authenticate(CHAL, APP, _ctap2_credential(a, cred_protect=2)).counter >= 1


def test_always_uv_switches_u2f_off() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    kh = Ctap1(SoftCtapDevice(a)).register(CHAL, APP).key_handle
    Config(Ctap2(SoftCtapDevice(a))).toggle_always_uv()
    for call in (lambda c: c.register(CHAL, APP), lambda c: c.authenticate(CHAL, APP, kh)):
        with pytest.raises(ApduError) as ei:
            call(Ctap1(SoftCtapDevice(a)))
        assert ei.value.code == 0x6D00  # SW_INS_NOT_SUPPORTED


def test_ctaphid_channel_table_is_bounded() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    sent: list[bytes] = []
    server = CtapHidServer(SoftCtapDevice(a), sent.append)
    try:
        init = struct.pack(">IBH", BROADCAST, 0x80 | CTAPHID.INIT, 8) + b"12345678"
        for _ in range(100_000):
            server.feed(init.ljust(64, b"\0"))
            if len(sent) > 64:
                del sent[:-1]
        assert len(server.channels) == MAX_CHANNELS
        newest = struct.unpack_from(">I", sent[-1], 15)[0]
        server.feed((struct.pack(">IBH", newest, 0x80 | CTAPHID.PING, 2) + b"hi").ljust(64, b"\0"))
        assert sent[-1][:9] == struct.pack(">IBH", newest, 0x80 | CTAPHID.PING, 2) + b"hi"
    finally:
        server.close()


def test_flag_override_at_ed_is_a_clean_fido2_error_through_platform_get() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    server = Fido2Server({"id": "example.com", "name": "Example"})
    opts, state = server.register_begin({"id": b"u", "name": "alice"}, user_verification="discouraged")
    cred = server.register_complete(state, platform.create(SoftCtapDevice(a), dict(opts)["publicKey"]))
    FLAG = AuthenticatorData.FLAG
    inject(a, FlagOverride(set_flags=FLAG.AT | FLAG.ED))
    opts, _ = server.authenticate_begin([cred.credential_data], user_verification="discouraged")  # type: ignore[list-item]
    with pytest.raises(Fido2Error, match="malformed authenticator response"):
        platform.get(SoftCtapDevice(a), dict(opts)["publicKey"])


def test_u2f_self_signed_certificate_follows_the_injected_clock() -> None:
    clock = ManualClock(datetime.datetime(2031, 5, 1, tzinfo=datetime.UTC).timestamp())
    a = Authenticator(AuthenticatorState.new(attestation="self"), clock=clock)
    reg = Ctap1(SoftCtapDevice(a)).register(CHAL, APP)
    cert = x509.load_der_x509_certificate(reg.certificate)
    assert cert.not_valid_before_utc.year == 2031 and cert.not_valid_before_utc.month == 4


def test_finding8_options_not_utf8_is_one_line_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fido2", "new", "k"]) == 0
    bad = tmp_path / "options.json"
    bad.write_bytes(b'{"challenge": "\xff\xfe"}')
    capsys.readouterr()
    for verb in ("register", "login"):
        rc = main(["fido2", verb, "k", "--options", str(bad)])
        err = capsys.readouterr().err
        assert rc not in (0, 70) and err.startswith("error: ") and err.count("\n") == 1, err
        assert "not UTF-8" in err
