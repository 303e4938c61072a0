"""CLI: 'tokensim device probe URL' and 'totp code --device URL' (one-line errors, JSON shapes)."""

from __future__ import annotations

import json

import pyotp
import pytest

from tokens._cli.main import main
from tokens.fido2 import state as fido2_state

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
T = 1_767_225_600.0


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_probe_json_for_a_simulated_serial_token(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "device", "probe", "sim-serial:?slots=3&serial=TS12345678", "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["identity"] == "TS12345678" and info["kind"] == "serial"
    assert info["details"]["slots"] == 3
    assert {"TOTP", "SLOTS", "SIMULATED", "SET_TIME"} <= set(info["capabilities"])
    assert info["url"] == "sim-serial:?slots=3&serial=TS12345678"


def test_probe_text_for_fido2_sim(capsys: pytest.CaptureFixture[str]) -> None:
    st = fido2_state.AuthenticatorState.new(name="probe-me")
    fido2_state.create(st)
    rc, out, err = run(capsys, "device", "probe", "fido2-sim:probe-me")
    assert rc == 0, err
    assert st.aaguid.hex() in out and "FIDO_2_1" in out and "tokensim soft FIDO2" in out


def test_probe_never_prints_a_secret_from_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "device", "probe", f"totp:?secret={SECRET}", "--json")
    assert rc == 0 and SECRET not in out
    assert json.loads(out)["url"] == "totp:?..."


@pytest.mark.parametrize(("url", "fragment"), [
    ("nope:x", "unknown device URL scheme 'nope'"),
    ("fido2-udp://127.0.0.1", "expected fido2-udp://HOST:PORT"),
    ("virtual:ghost", "no device named 'ghost'"),
    ("serial:///dev/tokensim-none", "cannot open serial port /dev/tokensim-none"),
])
def test_probe_errors_are_one_line(capsys: pytest.CaptureFixture[str], url: str, fragment: str) -> None:
    rc, out, err = run(capsys, "device", "probe", url)
    assert rc == 1 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err
    assert "Traceback" not in err


def test_totp_code_device_matches_pyotp_and_the_stored_shape(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "totp", "code", "--device", f"totp:?secret={SECRET}&offset=31",
                       "--at", str(T), "--count", "3", "--json")
    assert rc == 0, err
    got = json.loads(out)
    ref = pyotp.TOTP(SECRET)
    assert got["codes"] == [ref.at(T + 31 + 30 * i) for i in range(3)]
    assert got["device_time"] == T + 31 and got["step"] == int((T + 31) // 30)
    # the same keys as for a stored device
    run(capsys, "totp", "new", "s", "--secret", SECRET)
    rc, out, _ = run(capsys, "totp", "code", "s", "--at", str(T), "--json")
    assert set(json.loads(out)) <= set(got)


def test_totp_code_device_sim_serial_and_hotp(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "totp", "code", "--device", f"hotp:?secret={SECRET}&counter=9", "--count", "2",
                       "--json")
    assert rc == 0, err
    got = json.loads(out)
    assert got["codes"] == [pyotp.HOTP(SECRET).at(9), pyotp.HOTP(SECRET).at(10)]
    assert (got["counter"], got["kind"]) == (9, "hotp")
    run(capsys, "totp", "new", "h", "--hotp", "--secret", SECRET)
    for expected in (0, 1):  # the stored HOTP counter moves on between invocations
        rc, out, _ = run(capsys, "totp", "code", "--device", "virtual:h", "--json")
        assert json.loads(out)["codes"] == [pyotp.HOTP(SECRET).at(expected)]


@pytest.mark.parametrize(("argv", "fragment"), [
    (["totp", "code", "--device", "sim-serial:"], "the slot holds no credential"),
    (["totp", "code", "--device", "sim-serial:", "--count", "2"], "the slot holds no credential"),
    (["totp", "code", "name", "--device", "totp:"], "exactly one of"),
    (["totp", "code", "--device", "totp:?digits=3"], "digits must be between 6 and 10"),
])
def test_totp_code_device_errors(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    rc, _, err = run(capsys, *argv)
    assert rc == 1 and fragment in err and err.count("\n") == 1


def test_totp_code_device_rejects_a_fido2_key(capsys: pytest.CaptureFixture[str]) -> None:
    fido2_state.create(fido2_state.AuthenticatorState.new(name="k"))
    rc, _, err = run(capsys, "totp", "code", "--device", "fido2-sim:k")
    assert rc == 1 and "a fido2 device shows no OTP codes" in err


def test_totp_code_device_on_a_provisioned_tcp_token(capsys: pytest.CaptureFixture[str]) -> None:
    import base64

    from firmware_sim.build import make_firmware
    from firmware_sim.runner import TcpRunner
    from tokens.clock import ManualClock
    from tokens.device import EnrollRequest
    from tokens.open import open_device

    clock = ManualClock(T)
    with TcpRunner(make_firmware(reference=clock, offset=95)) as runner:
        with open_device(runner.url) as dev:
            dev.enroll(EnrollRequest(secret=base64.b32decode(SECRET)))
        rc, out, err = run(capsys, "totp", "code", "--device", runner.url, "--json")
        assert rc == 0, err
        got = json.loads(out)
        assert got["device_time"] == T + 95 and got["codes"] == [pyotp.TOTP(SECRET).at(T + 95)]
        rc, _, err = run(capsys, "totp", "code", "--device", runner.url, "--count", "2")
        assert rc == 1 and "shows one TOTP code at a time" in err


def test_demo_section_verifies_every_url(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    from pathlib import Path

    from tokens._cli._device_probe import DEMO_SECTIONS
    from tokens._cli.demo import DemoContext
    from tokens.clock import ManualClock

    [(order, _title, fn)] = DEMO_SECTIONS
    assert order == 60
    fn(DemoContext(home=Path(str(tmp_path)), clock=ManualClock(T)))
    out = capsys.readouterr().out
    assert out.count("pyotp agrees: True") == 3 and "pyotp agrees: False" not in out
    assert "signature verified with python-fido2" in out
