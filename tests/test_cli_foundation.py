"""CLI: the issue's acceptance command, round trips through the store, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from tokens._cli.main import main
from tokens.qr import qr_png_bytes, read_qr

RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_rfc6238_acceptance_command(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "totp", "code", "--secret", RFC_SECRET, "--at", "59", "--digits", "8", "--json")
    assert rc == 0
    data = json.loads(out)
    assert data["codes"] == ["94287082"] and data["step"] == 1 and data["device_time"] == 59


def test_console_script_exists_and_reports_backend() -> None:
    exe = Path(sys.executable).with_name("tokensim")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("tokensim ") and "hot loop:" in out


def test_new_code_import_show_rm(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    qr = tmp_path / "a.png"
    rc, out, _ = run(capsys, "totp", "new", "a", "--drift-ppm", "100", "--epoch", "0",
                     "--algorithm", "SHA256", "--digits", "7", "--qr", str(qr), "--json")
    assert rc == 0
    created = json.loads(out)
    assert oct(os.stat(qr).st_mode & 0o777) == "0o600"
    assert read_qr(qr) == created["uri"]
    # the device's clock runs 100 ppm fast since T0=0: at t it shows t*(1+1e-4)
    t = 1_000_000_000
    rc, out, _ = run(capsys, "totp", "code", "a", "--at", str(t), "--count", "2", "--json")
    data = json.loads(out)
    assert data["device_time"] == pytest.approx(t * (1 + 100e-6))
    ref = pyotp.parse_uri(created["uri"])
    assert data["codes"] == [ref.at(int(data["device_time"])), ref.at(int(data["device_time"]) + 30)]
    rc, out, _ = run(capsys, "totp", "import", "--qr", str(qr), "b", "--json")
    assert rc == 0 and json.loads(out)["digits"] == 7
    rc, out, _ = run(capsys, "device", "show", "a", "--json")
    shown = json.loads(out)
    assert "uri" not in shown and created["uri"].split("secret=")[1][:10] not in out
    rc, out, _ = run(capsys, "device", "list", "--json")
    assert [d["name"] for d in json.loads(out)["devices"]] == ["a", "b"]
    assert run(capsys, "device", "rm", "b")[0] == 0
    rc, out, _ = run(capsys, "device", "list", "--json")
    assert [d["name"] for d in json.loads(out)["devices"]] == ["a"]


def test_hotp_codes_advance_across_invocations(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "totp", "new", "h", "--hotp", "--secret", RFC_SECRET)
    codes = []
    for _ in range(3):
        _, out, _ = run(capsys, "totp", "code", "h", "--json")
        codes += json.loads(out)["codes"]
    assert codes == ["755224", "287082", "359152"]


def _write_text_png(path: Path, text: str) -> None:
    path.write_bytes(qr_png_bytes(text))


@pytest.mark.parametrize("argv,message", [
    (["totp", "code", "--uri", "otpauth://totp/x?secret=!!"], "base32"),
    (["totp", "code", "--uri", "https://example.com"], "otpauth"),
    (["totp", "code", "--secret", "not base32!"], "base32"),
    (["totp", "code", "--secret", RFC_SECRET, "--digits", "12"], "digits"),
    (["totp", "code", "nosuchdevice"], "no device named"),
    (["totp", "code"], "give exactly one"),
    (["totp", "new", "x", "--digits", "4"], "digits"),
    (["totp", "new", "x", "--period", "0"], "period"),
    (["totp", "new", "x", "--secret", "AAAA"], "secret"),
    (["device", "show", "ghost"], "no device named"),
    (["device", "rm", "ghost"], "no device named"),
])
def test_bad_input_gives_one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str],
                                        message: str) -> None:
    rc, _, err = run(capsys, *argv)
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["totp", "code", "--secret", RFC_SECRET, "--algorithm", "MD5"],
    ["totp", "code", "--secret", RFC_SECRET, "--at", "yesterday"],
    ["totp", "bogus"],
])
def test_usage_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_qr_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    not_image = tmp_path / "x.png"
    not_image.write_text("hello")
    rc, _, err = run(capsys, "totp", "import", "--qr", str(not_image), "n")
    assert rc == 1 and "not a readable image" in err
    non_otp = tmp_path / "web.png"
    _write_text_png(non_otp, "https://example.com")
    rc, _, err = run(capsys, "totp", "import", "--qr", str(non_otp), "n")
    assert rc == 1 and "otpauth" in err
    rc, _, err = run(capsys, "totp", "import", "--qr", str(tmp_path / "missing.png"), "n")
    assert rc == 1 and "does not exist" in err
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (64, 64), 255).save(blank)
    rc, _, err = run(capsys, "totp", "import", "--qr", str(blank), "n")
    assert rc == 1 and "no QR code" in err


def test_failed_command_leaves_store_intact(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "totp", "new", "keep")
    from tokens.paths import devices_file

    before = devices_file().read_bytes()
    rc, _, _ = run(capsys, "totp", "new", "keep", "--secret", RFC_SECRET)
    assert rc == 1
    assert devices_file().read_bytes() == before


def test_corrupt_store_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tokens.paths import devices_file

    devices_file().parent.mkdir(parents=True, exist_ok=True)
    devices_file().write_text("[]")
    rc, _, err = run(capsys, "device", "list")
    assert rc == 1 and "not a tokensim device store" in err
