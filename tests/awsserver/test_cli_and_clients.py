"""`tokensim aws serve` as a process (ready line, signals), and tokensim's own AWS client against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tokens.aws import AwsOptions, AwsSession, disable_virtual_mfa, enroll_virtual_mfa, get_mfa_session
from tokens.awsserver import AwsServer
from tokens.store import DeviceStore

from .conftest import Aws, error_of


def start_cli(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")}
    return subprocess.Popen([sys.executable, "-m", "tokens", "aws", "serve", "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def ready_line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the process prints it once it accepts connections
    assert line, proc.stderr.read() if proc.stderr else ""
    info: dict[str, object] = json.loads(line)
    return info


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_json_line_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "state.sqlite3"
    proc = start_cli(tmp_path, "--db", str(db), "--account-id", "210987654321")
    try:
        info = ready_line(proc)
        assert info["event"] == "ready" and str(info["url"]).startswith("http://127.0.0.1:")
        sts = boto3.client("sts", endpoint_url=str(info["url"]), region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sts.get_caller_identity()["Account"] == "210987654321"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"
    assert "Traceback" not in err
    assert db.exists() and (db.stat().st_mode & 0o077) == 0  # seeds inside: private


def test_cli_state_survives_restart_and_bad_port_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    for round_ in range(2):
        proc = start_cli(tmp_path, "--db", str(db))
        try:
            url = str(ready_line(proc)["url"])
            iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            if round_ == 0:
                iam.create_user(UserName="persisted")
            else:
                assert iam.get_user(UserName="persisted")["User"]["UserName"] == "persisted"
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
    bad = subprocess.run([sys.executable, "-m", "tokens", "aws", "serve", "--host", "203.0.113.1",
                          "--db", str(db)], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and bad.stderr.startswith("error: cannot listen on 203.0.113.1")
    assert bad.stderr.count("\n") == 1


def test_tokensim_aws_client_enrolls_and_gets_sessions(aws: Aws, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS-client layer, unchanged, against this endpoint: QR check on, codes really verified."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    session = AwsSession(AwsOptions(endpoint_url=aws.server.url, max_attempts=1))
    aws.iam.create_user(UserName="alice")
    store = DeviceStore(tmp_path / "devices.json", reference=aws.clock)
    enrolled = enroll_virtual_mfa(session.iam, "alice", store=store, at=aws.clock.now())
    assert enrolled.serial_number == "arn:aws:iam::123456789012:mfa/alice"
    device = store.get(enrolled.name)
    aws.clock.advance(60)
    creds = get_mfa_session(session.sts, device, enrolled.serial_number, duration=900)
    assert creds.access_key_id.startswith("ASIA")
    # the same code again is a replay: the endpoint refuses it, as AWS would
    assert error_of(lambda: aws.sts.get_session_token(SerialNumber=enrolled.serial_number,
                                                      TokenCode=device.code()))[0] == "AccessDenied"
    disable_virtual_mfa(session.iam, enrolled.name, store=store)
    assert aws.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_cli_bad_policy_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", '
                   '"Condition": {"StringEqualz": {"aws:username": "a"}}}]}')
    r = subprocess.run([sys.executable, "-m", "tokens", "aws", "serve", "--db", str(tmp_path / "x.db"),
                        "--policy", str(bad)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: ") and "StringEqualz" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "x.db").exists()  # refused before anything was created


def test_tokensim_aws_cli_enroll_list_disable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`tokensim aws enroll/list/disable --endpoint-url` with the QR check required (the PNG is real)."""
    from tokens._cli.main import main

    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with AwsServer(tmp_path / "real-clock.sqlite3") as server:  # the CLI reads the system clock
        ep = ["--endpoint-url", server.url, "--max-attempts", "1"]
        boto3.client("iam", endpoint_url=server.url, region_name="us-east-1").create_user(UserName="alice")
        assert main(["aws", "enroll", "--user", "alice", "--qr-check", "require", "--json", *ep]) == 0
        enrolled = json.loads(capsys.readouterr().out)
        assert enrolled["serial_number"] == "arn:aws:iam::123456789012:mfa/alice"
        assert main(["aws", "list", "--json", *ep]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert "arn:aws:iam::123456789012:mfa/alice" in json.dumps(listed)
        assert main(["aws", "disable", "--device", "alice", *ep]) == 0
        capsys.readouterr()
        iam = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1")
        assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_cli_verifier_tuning_lock_and_unlock_with_the_verifier_cli(tmp_path: Path) -> None:
    """--throttle-after/--lockout-after reach the verifier; `tokensim verifier` reads the same db."""
    import pyotp
    from botocore.exceptions import ClientError

    db = tmp_path / "tuned.sqlite3"
    bad = subprocess.run([sys.executable, "-m", "tokens", "aws", "serve", "--db", str(db),
                          "--throttle-after", "5", "--lockout-after", "2"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "lockout_after" in bad.stderr
    proc = start_cli(tmp_path, "--db", str(db), "--throttle-after", "1", "--lockout-after", "2",
                     "--backoff", "0")
    same_home = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")}  # its seal key lives there
    try:
        url = str(ready_line(proc)["url"])
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        iam, sts = boto3.client("iam", **kw), boto3.client("sts", **kw)  # type: ignore[call-overload]
        iam.create_user(UserName="alice")
        vmfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
        serial = vmfa["SerialNumber"]
        totp = pyotp.TOTP(vmfa["Base32StringSeed"].decode())
        now = time.time()
        iam.enable_mfa_device(UserName="alice", SerialNumber=serial, AuthenticationCode1=totp.at(now),
                              AuthenticationCode2=totp.at(now + 30))
        for _ in range(2):
            with pytest.raises(ClientError):
                sts.get_session_token(SerialNumber=serial, TokenCode="000000" if totp.now() != "000000"
                                      else "111111")
        show = subprocess.run([sys.executable, "-m", "tokens", "verifier", "show", serial, "--db", str(db),
                               "--json"], capture_output=True, text=True, timeout=30, env=same_home)
        assert show.returncode == 0, show.stderr
        assert json.loads(show.stdout)["locked"] is True
        unlock = subprocess.run([sys.executable, "-m", "tokens", "verifier", "unlock", serial, "--db",
                                 str(db)], capture_output=True, text=True, timeout=30, env=same_home)
        assert unlock.returncode == 0, unlock.stderr
        show = subprocess.run([sys.executable, "-m", "tokens", "verifier", "show", serial, "--db", str(db),
                               "--json"], capture_output=True, text=True, timeout=30, env=same_home)
        assert json.loads(show.stdout)["locked"] is False
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
