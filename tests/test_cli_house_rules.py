"""The CLI's house rules (issue 13, point 4): each item a user tripped over, checked here.

Codes are checked against RFC 4226 / RFC 6238 vectors and pyotp, never against tokensim itself.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest

from tests._proc import running
from tokens._cli import output
from tokens._cli.main import build_parser, main

TOKENSIM = str(Path(sys.executable).parent / "tokensim")
RFC_KEY_HEX = "3132333435363738393031323334353637383930"  # "12345678901234567890"
RFC_KEY_B32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
RFC4226 = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as e:  # usage errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = (),
           ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    return [leaf for a in subs for name, p in a.choices.items() for leaf in leaves(p, (*path, name))]


# ------------------------------------------------------------------ --json everywhere

def test_every_command_takes_json() -> None:
    found = leaves(build_parser())
    assert len(found) > 30
    missing = [" ".join(path) for path, p in found
               if "--json" not in {o for a in p._actions for o in a.option_strings}]
    assert missing == []


def test_demo_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "demo", "--only", "Virtual TOTP", "--json")
    doc = json.loads(out)
    assert rc == 0 and [s["title"] for s in doc["sections"]] == ["Virtual TOTP device with a drifting clock"]
    assert any("acme-token" in line for line in doc["sections"][0]["lines"])
    assert not any("[bold]" in line for line in doc["sections"][0]["lines"])  # markup stripped


# ------------------------------------------------------------------ usage errors, one line each

@pytest.mark.parametrize("argv", [
    ["aws", "serve", "--port", "-1"],
    ["sim", "serve", "--tcp", "99999"],
    ["verifier", "serve", "--port", "70000"],
    ["fido2", "serve", "k", "--port", "65536"],
])
def test_bad_numbers_are_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == "" and err.count("\n") == 1 and err.startswith("error: argument --")


@pytest.mark.parametrize("argv", [
    ["totp", "code", "--secret", RFC_KEY_B32, "--period", "0"],  # was silently 30
    ["totp", "check", "123456", "--secret", RFC_KEY_B32, "--period", "0"],
    ["totp", "new", "x", "--period", "0"],
])
def test_period_zero_is_an_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 1 and out == "" and err.count("\n") == 1
    assert "period must be a whole number of seconds" in err


def test_unknown_demo_section_and_bench_suite_list_the_valid_names(capsys: pytest.CaptureFixture[str],
                                                                    ) -> None:
    rc, _, err = run(capsys, "demo", "--only", "nosuch")
    assert rc == 1 and err.count("\n") == 1 and "'nosuch'" in err and "Virtual TOTP device" in err
    rc, _, err = run(capsys, "bench", "--suite", "nosuch", "--quick")
    assert rc == 1 and err.count("\n") == 1 and "no bench suite named 'nosuch'" in err
    assert "fido2" in err and "serial" in err


def test_import_pskc_of_a_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite3"
    rc, _, err = run(capsys, "verifier", "import-pskc", str(tmp_path / "nosuch.xml"), "--db", str(db))
    assert rc == 1 and err == f"error: {tmp_path / 'nosuch.xml'}: no such file\n" and not db.exists()


@pytest.mark.parametrize("argv", [["verifier", "show", "X"], ["verifier", "list"],
                                  ["verifier", "check", "X", "123456"], ["verifier", "disable", "X"]])
def test_read_only_and_updating_commands_create_no_database(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path, argv: list[str]) -> None:
    db = tmp_path / "nonexistent" / "dir" / "v.sqlite3"
    rc, _, err = run(capsys, *argv, "--db", str(db))
    assert rc == 1 and err == (f"error: no verifier database at {db} (nothing enrolled there yet: 'tokensim "
                               "verifier enroll' or 'import-pskc' creates it)\n")
    assert not (tmp_path / "nonexistent").exists()


# ------------------------------------------------------------------ oathtool-style extras

def test_totp_code_with_a_hex_secret_matches_rfc6238(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "totp", "code", "--secret", RFC_KEY_HEX, "--hex", "--digits", "8", "--at", "59")
    assert rc == 0 and out == "94287082\n"
    rc, out, _ = run(capsys, "totp", "code", "--secret", RFC_KEY_HEX, "--hex", "--digits", "8",
                     "--at", "1111111109")
    assert out == "07081804\n"
    rc, _, err = run(capsys, "totp", "code", "--secret", "xyz", "--hex")
    assert rc == 1 and "not hexadecimal" in err


def test_totp_code_hotp_flags_match_rfc4226(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "totp", "code", "--secret", RFC_KEY_B32, "--hotp", "--counter", "3",
                     "--count", "4")
    assert rc == 0 and out.split() == RFC4226[3:7]
    rc, out, _ = run(capsys, "totp", "code", "--secret", RFC_KEY_HEX, "--hex", "--hotp", "--json")
    assert json.loads(out)["codes"] == [RFC4226[0]]
    rc, _, err = run(capsys, "totp", "code", "--secret", RFC_KEY_B32, "--counter", "3")
    assert rc == 1 and "--counter goes with --hotp" in err


def test_totp_check_reports_the_offset_like_oathtool(capsys: pytest.CaptureFixture[str]) -> None:
    app = pyotp.TOTP(RFC_KEY_B32)
    at = 1_767_225_615.0
    for offset in (-2, 0, 1, 2):
        code = app.at(at + 30 * offset)
        rc, out, _ = run(capsys, "totp", "check", code, "--secret", RFC_KEY_B32, "-w", "2", "--at", str(at))
        assert (rc, out) == (0, f"{offset}\n")
    rc, _, err = run(capsys, "totp", "check", app.at(at + 90), "--secret", RFC_KEY_B32, "-w", "2",
                     "--at", str(at))
    assert rc == 1 and err.count("\n") == 1 and "does not match" in err and "±2 steps" in err
    rc, out, _ = run(capsys, "totp", "check", app.at(at - 30), "--secret", RFC_KEY_B32, "--at", str(at),
                     "--json")
    assert rc == 1 and json.loads(out)["ok"] is False  # window 0 by default, as oathtool
    rc, out, _ = run(capsys, "totp", "check", RFC4226[7], "--secret", RFC_KEY_HEX, "--hex", "--hotp",
                     "--counter", "5", "-w", "3", "--json")
    assert rc == 0 and json.loads(out) | {"offset": 2, "counter": 7, "next_counter": 8} == json.loads(out)
    uri = pyotp.TOTP(RFC_KEY_B32, digits=8).provisioning_uri(name="a", issuer_name="I")
    rc, out, _ = run(capsys, "totp", "check", "94287082", "--uri", uri, "--at", "59")
    assert (rc, out) == (0, "0\n")


def test_totp_codes_lists_every_device_without_pressing_hotp(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "totp", "new", "a", "--secret", RFC_KEY_B32, "--epoch", "0")[0] == 0
    assert run(capsys, "totp", "new", "h", "--hotp", "--secret", RFC_KEY_B32)[0] == 0
    for _ in range(2):  # listing twice: the HOTP counter never moves
        rc, out, _ = run(capsys, "totp", "codes", "--at", "1767225615", "--json")
        rows = {r["name"]: r for r in json.loads(out)}
        assert rows["a"]["code"] == pyotp.TOTP(RFC_KEY_B32).at(1767225615) and rows["a"]["valid_for"] == 15
        assert rows["h"]["code"] is None and rows["h"]["counter"] == 0
    rc, out, _ = run(capsys, "totp", "codes", "--at", "1767225615")
    assert rc == 0 and pyotp.TOTP(RFC_KEY_B32).at(1767225615) in out and "15 s" in out


# ------------------------------------------------------------------ tables into a pipe are never cut

def test_tables_are_whole_when_stdout_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    arn = "arn:aws:iam::123456789012:mfa/" + "a-rather-long-device-name-" * 4
    action = "iam:CreateVirtualMFADevice"
    output.table(["serial", "action", "port"], [(arn, action, "socket://127.0.0.1:49152")])
    output.kv({"serial_number": arn})
    out = capsys.readouterr().out
    assert arn in out and action in out and "socket://127.0.0.1:49152" in out and "…" not in out


# ------------------------------------------------------------------ one ready/stopped shape for all servers

def _serve(argv: list[str], tmp_path: Path) -> tuple[dict[str, object], dict[str, object], str]:
    env = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")}
    with running([TOKENSIM, *argv], env=env) as proc:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    stopped = json.loads(rest.strip().splitlines()[-1])
    assert ready["pid"] == stopped["pid"] == proc.pid
    return ready, stopped, err


@pytest.mark.parametrize(("argv", "where"), [
    (["fido2", "serve", "k", "--port", "0", "--reply-port", "0"], "port"),
    (["sim", "serve", "--tcp", "0"], "port"),
    (["aws", "serve", "--port", "0"], "url"),
    (["verifier", "serve", "--port", "0", "--db", "memory:"], "url"),
])
def test_servers_announce_ready_and_stopped_in_one_shape(tmp_path: Path, argv: list[str], where: str) -> None:
    if argv[0] == "fido2":
        subprocess.run([TOKENSIM, "fido2", "new", "k"], check=True, capture_output=True,
                       env={**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")})
    ready, stopped, _ = _serve(argv, tmp_path)
    assert next(iter(ready)) == "event" and ready["event"] == "ready" and ready[where]
    assert stopped["event"] == "stopped" and stopped["signal"] == "SIGTERM"


def test_sim_serve_says_where_provisioned_seeds_went(tmp_path: Path) -> None:
    ready, _, err = _serve(["sim", "serve", "--tcp", "0", "--provision", "2"], tmp_path)
    assert ready["provisioned"] == 2 and ready["pskc"] is None
    assert "the seeds stay inside this simulated token" in err and "--pskc-out" in err
    ready, _, err = _serve(["sim", "serve", "--tcp", "0", "--provision", "1", "--pskc-out",
                            str(tmp_path / "b.xml")], tmp_path)
    assert ready["pskc"] == str(tmp_path / "b.xml") and (tmp_path / "b.xml").exists() and err == ""


# ------------------------------------------------------------------ aws session waits visibly

def test_countdown_rewrites_one_line_until_the_time_is_up() -> None:
    now = [100.0]
    stream = io.StringIO()
    output.countdown(2.5, "fresh code in", stream=stream, clock=lambda: now[0],
                     sleep=lambda s: now.__setitem__(0, now[0] + s))
    text = stream.getvalue()
    assert text.count("\r") == 5 and "fresh code in   3 s" in text and "fresh code in   1 s" in text
    assert now[0] == pytest.approx(102.5) and text.endswith("\r")


def test_aws_session_waits_with_a_countdown_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens._cli import aws as cli_aws

    calls: list[tuple[str, float]] = []
    monkeypatch.setattr(cli_aws.output, "countdown", lambda s, label, **_: calls.append(("countdown", s)))
    monkeypatch.setattr(cli_aws.time, "sleep", lambda s: calls.append(("sleep", s)))
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    cli_aws._sleep_with_note(12.0)
    assert calls == [("sleep", 12.0)] and "waiting 12 s" in sys.stderr.getvalue()  # type: ignore[attr-defined]
    calls.clear()
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", tty)
    cli_aws._sleep_with_note(12.0)
    assert calls == [("countdown", 12.0)]


# ------------------------------------------------------------------ shell completion

def test_bash_completion_completes_commands_and_options(tmp_path: Path) -> None:
    script = subprocess.run([TOKENSIM, "completion", "bash"], capture_output=True, text=True,
                            check=True).stdout
    (tmp_path / "c.bash").write_text(script)
    probe = (f"source {tmp_path / 'c.bash'}\n"
             'comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _tokensim; '
             'echo "${COMPREPLY[*]}"; }\n'
             'comp tokensim to\ncomp tokensim totp ch\ncomp tokensim --home /x totp check --he\n'
             'comp tokensim verifier s\ncomp tokensim completion ""\n')
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["totp", "check", "--help --hex", "show serve", ""]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_cover_every_command(capsys: pytest.CaptureFixture[str], shell: str) -> None:
    rc, out, _ = run(capsys, "completion", shell)
    assert rc == 0
    for path, _ in leaves(build_parser()):
        assert path[-1] in out
    if shell == "fish":
        assert "complete -c tokensim -n '__tokensim_is \\'totp check\\'' -l hex" in out
    else:
        assert out.startswith("#compdef tokensim") and "bashcompinit" in out and "complete -o default" in out


# ------------------------------------------------------------------ docs say what the code does

def test_docs_state_the_totp_digits_the_url_accepts() -> None:
    from tokens.errors import InvalidURIError
    from tokens.open import open_device

    page = (Path(__file__).resolve().parents[1] / "docs" / "device-urls.md").read_text(encoding="utf-8")
    assert "`digits` (6\N{EN DASH}8)" in page
    for d in (6, 7, 8):
        open_device(f"totp:?digits={d}").close()
    for d in (5, 9, 10):
        with pytest.raises(InvalidURIError):
            open_device(f"totp:?digits={d}")
