"""``tokensim aws ...`` end to end against moto server, and its one-line errors."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tokens.aws import read_profile
from tokens.store import DeviceStore

from .conftest import ACCOUNT, aws_style_uri

Cli = Callable[..., tuple[int, str, str]]
OTHER = "[default]\naws_access_key_id = AKIALONGTERM\naws_secret_access_key = keep/me\n\n[work]\nregion = x\n"


def create_user(url: str, name: str) -> None:
    from tokens.aws import AwsOptions, AwsSession

    AwsSession(AwsOptions(endpoint_url=url)).iam.call("CreateUser", UserName=name)


def fresh_code_now(name: str) -> None:
    """moto checks no codes, but ``aws session`` never sends a code twice (it waits for the next
    one, as AWS requires): mark the used step as older so the test need not wait up to 30 s."""
    store = DeviceStore()
    meta = store.meta(name)["aws"]
    store.update_meta(name, aws={**meta, "last_step": store.get(name).step() - 1})


def one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err


def test_enroll_session_profile_disable(cli: Cli, moto_url: str, aws_qr: Any, aws_env: Path) -> None:
    aws_qr(aws_style_uri)
    create_user(moto_url, "alice")
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(OTHER)
    ep = ("--endpoint-url", moto_url)

    rc, out, err = cli("aws", "enroll", "--user", "alice", "--device-name", "alice-phone", *ep, "--json")
    assert (rc, err) == (0, "")
    enrolled = json.loads(out)
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/alice-phone"
    assert enrolled["serial_number"] == serial and enrolled["qr_verified"] is True
    assert DeviceStore().meta("alice-phone")["aws"]["serial_number"] == serial
    secret = DeviceStore().get("alice-phone").secret
    assert secret.hex() not in out  # no secret on screen
    fresh_code_now("alice-phone")

    rc, out, _ = cli("aws", "list", *ep, "--json")
    assert rc == 0
    assert json.loads(out)["devices"][0] | {"enabled": None} == {
        "serial_number": serial, "user": "alice", "enabled": None, "local_name": "alice-phone"}

    rc, out, err = cli("aws", "session", "--device", "alice-phone", "--write-profile", "alice-mfa", *ep)
    assert (rc, err) == (0, "")
    assert "wrote new MFA session credentials" in out and "alice-mfa" in out
    assert stat.S_IMODE(os.stat(aws_env).st_mode) == 0o600
    assert aws_env.read_text().startswith(OTHER)  # other profiles byte for byte
    profile = read_profile("alice-mfa")
    assert profile is not None and profile["tokensim_mfa_serial"] == serial
    assert len(profile["expiration"]) == 19 and profile["aws_session_token"] == profile["aws_security_token"]
    assert profile["aws_secret_access_key"] not in out

    rc, out, _ = cli("aws", "session", "--device", "alice-phone", "--write-profile", "alice-mfa", *ep)
    assert rc == 0 and "reused valid credentials" in out
    fresh_code_now("alice-phone")
    rc, out, _ = cli("aws", "session", "--device", "alice-phone", "--write-profile", "alice-mfa", "--force",
                     *ep)
    assert rc == 0 and "wrote new" in out

    rc, out, err = cli("aws", "disable", "--device", "alice-phone", *ep)
    assert (rc, err) == (0, "")
    assert f"disabled {serial} for alice" in out
    assert DeviceStore().names() == []
    rc, out, _ = cli("aws", "list", *ep)
    assert rc == 0 and "no MFA devices" in out


def test_session_env_and_json(cli: Cli, moto_url: str) -> None:
    create_user(moto_url, "bob")
    ep = ("--endpoint-url", moto_url)
    assert cli("aws", "enroll", "--user", "bob", "--qr-check", "if-png", *ep)[0] == 0
    fresh_code_now("bob")
    rc, out, _ = cli("aws", "session", "--device", "bob", "--env", "--duration", "900", *ep)
    assert rc == 0
    exports = dict(shlex.split(line)[1].split("=", 1) for line in out.splitlines())
    assert set(exports) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                            "AWS_CREDENTIAL_EXPIRATION"}
    fresh_code_now("bob")
    rc, out, _ = cli("aws", "session", "--device", "bob", "--json", "--role-arn",
                     "arn:aws:iam::123456789012:role/admin", *ep)
    assert rc == 0
    data = json.loads(out)
    assert data["role_arn"] == "arn:aws:iam::123456789012:role/admin"
    assert data["serial_number"] == f"arn:aws:iam::{ACCOUNT}:mfa/bob" and data["session_token"]


@pytest.mark.parametrize("argv", [
    ("aws", "session", "--device", "x"),  # no output mode
    ("aws", "session", "--device", "x", "--env", "--json"),
    ("aws", "enroll"),
    ("aws", "enroll", "--user", "u", "--qr-check", "maybe"),
])
def test_usage_errors_are_one_line_exit_2(cli: Cli, argv: tuple[str, ...]) -> None:
    rc, _, err = cli(*argv)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: ")


def test_unknown_user(cli: Cli, moto_url: str) -> None:
    rc, out, err = cli("aws", "enroll", "--user", "nobody", "--qr-check", "if-png",
                       "--endpoint-url", moto_url)
    one_line_error(rc, err, "EnableMFADevice failed: NoSuchEntity", "nobody")
    assert out == "" and DeviceStore().names() == []


def test_device_already_enabled(cli: Cli, moto_url: str) -> None:
    create_user(moto_url, "alice")
    ep = ("--endpoint-url", moto_url, "--qr-check", "if-png")
    assert cli("aws", "enroll", "--user", "alice", *ep)[0] == 0
    rc, _, err = cli("aws", "enroll", "--user", "alice", *ep)
    one_line_error(rc, err, "already exists locally")
    DeviceStore().remove("alice")  # a second machine without the seed tries again
    rc, _, err = cli("aws", "enroll", "--user", "alice", *ep)
    one_line_error(rc, err, "CreateVirtualMFADevice failed: EntityAlreadyExists")


def test_moto_qr_bytes_without_if_png(cli: Cli, moto_url: str) -> None:
    create_user(moto_url, "alice")
    rc, _, err = cli("aws", "enroll", "--user", "alice", "--endpoint-url", moto_url)
    one_line_error(rc, err, "not a PNG image", "--qr-check if-png")


@pytest.mark.parametrize("argv", [
    ("aws", "enroll", "--user", "alice"),
    ("aws", "list"),
])
def test_endpoint_down(cli: Cli, down_url: str, argv: tuple[str, ...]) -> None:
    rc, _, err = cli(*argv, "--endpoint-url", down_url, "--max-attempts", "1", "--connect-timeout", "2")
    one_line_error(rc, err, "cannot reach the IAM endpoint", down_url)


def test_session_errors(cli: Cli, moto_url: str, aws_env: Path) -> None:
    rc, _, err = cli("aws", "session", "--device", "ghost", "--env", "--endpoint-url", moto_url)
    one_line_error(rc, err, "ghost")
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(OTHER)
    create_user(moto_url, "alice")
    assert cli("aws", "enroll", "--user", "alice", "--qr-check", "if-png", "--endpoint-url", moto_url)[0] == 0
    rc, _, err = cli("aws", "session", "--device", "alice", "--write-profile", "default",
                     "--endpoint-url", moto_url)
    one_line_error(rc, err, "long-term keys")
    rc, _, err = cli("aws", "session", "--device", "alice", "--write-profile", "work", "--profile", "work")
    one_line_error(rc, err, "would overwrite")
    rc, _, err = cli("aws", "session", "--device", "alice", "--env", "--profile", "nosuch",
                     "--endpoint-url", moto_url)
    one_line_error(rc, err, "nosuch")
    assert aws_env.read_text() == OTHER


def test_missing_boto3_is_one_clear_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` now raises ImportError
    rc, _, err = cli("aws", "list")
    one_line_error(rc, err, "boto3 is not installed", "tokensim[aws]")
    rc, out, _ = cli("aws", "--help")
    assert rc == 0 and "enroll" in out


def test_serve_hook_registers_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from tokens._cli import aws

    seen: list[Any] = []
    fake = types.ModuleType("tokens._cli._aws_serve")
    fake.register_serve = seen.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tokens._cli._aws_serve", fake)
    aws.register(argparse.ArgumentParser().add_subparsers())
    assert len(seen) == 1 and "enroll" in seen[0].choices


def test_demo_section(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tokens._cli.aws import DEMO_SECTIONS
    from tokens._cli.demo import DemoContext
    from tokens.clock import ManualClock

    monkeypatch.setenv("AWS_PROFILE", "a-profile-the-demo-must-not-use")
    [(order, _, fn)] = DEMO_SECTIONS
    fn(DemoContext(home=tmp_path, clock=ManualClock(1_767_225_600.0)))
    assert os.environ["AWS_PROFILE"] == "a-profile-the-demo-must-not-use"  # restored afterwards
    out = capsys.readouterr().out
    assert order == 50
    assert "the last two codes; pyotp agrees: True" in out
    assert "30 s later" in out and "(mode 0600)" in out and "reuses them" in out and ": True" in out
    assert "local devices left: []" in out


def test_aws_profile_env_counts_as_the_source_profile(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "work")
    rc, _, err = cli("aws", "session", "--device", "alice", "--write-profile", "work")
    one_line_error(rc, err, "would overwrite")


def test_session_with_an_hotp_device_saves_the_counter(cli: Cli, moto_url: str) -> None:
    from tokens.virtual import VirtualHOTP

    DeviceStore().add("hw-token", VirtualHOTP(b"12345678901234567890", counter=7))
    rc, out, err = cli("aws", "session", "--device", "hw-token", "--json", "--serial-number",
                       "arn:aws:iam::123456789012:mfa/hw", "--endpoint-url", moto_url)
    assert (rc, err) == (0, "")
    assert json.loads(out)["serial_number"] == "arn:aws:iam::123456789012:mfa/hw"
    assert DeviceStore().get("hw-token").counter == 8  # the code used is gone for good
    rc, _, err = cli("aws", "session", "--device", "hw-token", "--json", "--endpoint-url", moto_url)
    one_line_error(rc, err, "was not enrolled with 'tokensim aws enroll'", "--serial-number")


def test_sts_endpoint_down(cli: Cli, down_url: str) -> None:
    from tokens.virtual import VirtualTOTP

    DeviceStore().add("t", VirtualTOTP(b"12345678901234567890"))
    rc, _, err = cli("aws", "session", "--device", "t", "--serial-number", "arn:aws:iam::1:mfa/t", "--env",
                     "--endpoint-url", down_url, "--max-attempts", "1", "--connect-timeout", "2")
    one_line_error(rc, err, "cannot reach the STS endpoint (GetSessionToken)", down_url)
