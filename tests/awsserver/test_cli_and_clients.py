"""`tokensim aws serve` as a process (ready line, signals), and tokensim's own AWS client against it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests._proc import running
from tokens.aws import AwsOptions, AwsSession, disable_virtual_mfa, enroll_virtual_mfa, get_mfa_session
from tokens.awsserver import AwsServer
from tokens.store import DeviceStore

from .conftest import Aws, error_of

FORCE_MFA = Path(__file__).resolve().parents[2] / "examples" / "aws" / "policies" / "force-mfa.json"


def serving(tmp_path: Path, *extra: str) -> contextlib.AbstractContextManager[subprocess.Popen[str]]:
    """``tokensim aws serve --port 0 EXTRA...`` as a process, killed at the end if still running."""
    env = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")}
    return running([sys.executable, "-m", "tokens", "aws", "serve", "--port", "0", *extra], env=env)


def tokensim(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``tokensim ARGV...`` to completion."""
    return subprocess.run([sys.executable, "-m", "tokens", *argv], capture_output=True, text=True, timeout=30,
                          env=env)


def admin_client(service: str, info: dict[str, object], **kw: Any) -> Any:
    """A boto3 client of the served endpoint, signing with the administrator's key of its ready line."""
    kw.setdefault("aws_secret_access_key", str(info["secret_access_key"]))
    return boto3.client(service, endpoint_url=str(info["url"]), region_name="us-east-1",  # type: ignore[call-overload]
                        aws_access_key_id=str(info["access_key_id"]), **kw)


def ready_line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the process prints it once it accepts connections
    assert line, proc.stderr.read() if proc.stderr else ""
    info: dict[str, object] = json.loads(line)
    return info


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_json_line_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    db = tmp_path / "state.sqlite3"
    with serving(tmp_path, "--db", str(db), "--account-id", "210987654321") as proc:
        info = ready_line(proc)
        assert info["event"] == "ready" and str(info["url"]).startswith("http://127.0.0.1:")
        assert info["account_id"] == "210987654321" and str(info["access_key_id"]).startswith("AKIA")
        sts = admin_client("sts", info)
        assert sts.get_caller_identity()["Arn"] == "arn:aws:iam::210987654321:user/admin"
        wrong = admin_client("sts", info, aws_secret_access_key="wrong")
        assert error_of(wrong.get_caller_identity)[0] == "SignatureDoesNotMatch"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"
    assert "Traceback" not in err
    assert db.exists() and (db.stat().st_mode & 0o077) == 0  # seeds inside: private


def test_cli_state_survives_restart_and_bad_port_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    keys: set[tuple[str, str]] = set()
    for round_ in range(2):
        with serving(tmp_path, "--db", str(db)) as proc:
            info = ready_line(proc)
            keys.add((str(info["access_key_id"]), str(info["secret_access_key"])))
            iam = admin_client("iam", info)
            if round_ == 0:
                iam.create_user(UserName="persisted")
            else:
                assert iam.get_user(UserName="persisted")["User"]["UserName"] == "persisted"
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
    assert len(keys) == 1  # the administrator's key is kept with the account
    bad = tokensim("aws", "serve", "--host", "203.0.113.1", "--db", str(db))
    assert bad.returncode == 1 and bad.stderr.startswith("error: cannot listen on 203.0.113.1")
    assert bad.stderr.count("\n") == 1


def test_tokensim_aws_client_enrolls_and_gets_sessions(aws: Aws, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS-client layer, unchanged, against this endpoint: QR check on, codes really verified.
    alice enrolls herself with her own keys under AWS's Force_MFA policy."""
    key, secret = aws.user("alice")
    arn = aws.iam.create_policy(PolicyName="Force_MFA", PolicyDocument=FORCE_MFA.read_text())["Policy"]["Arn"]
    aws.iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    session = AwsSession(AwsOptions(endpoint_url=aws.server.url, max_attempts=1))
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
    # Force_MFA: deactivating and deleting the device takes an MFA session
    mfa = AwsSession(
        AwsOptions(
            endpoint_url=aws.server.url,
            max_attempts=1,
            access_key_id=creds.access_key_id,
            secret_access_key=creds.secret_access_key,
            session_token=creds.session_token,
        )
    )
    disable_virtual_mfa(mfa.iam, enrolled.name, store=store)
    assert aws.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_cli_bad_policy_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(
        '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", '
        '"Condition": {"StringEqualz": {"aws:username": "a"}}}]}'
    )
    r = tokensim("aws", "serve", "--db", str(tmp_path / "x.db"), "--policy", str(bad))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: ") and "StringEqualz" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "x.db").exists()  # refused before anything was created


def test_tokensim_aws_cli_enroll_list_disable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tokensim aws enroll/list/disable --endpoint-url` with the QR check required (the PNG is real)."""
    from tokens._cli.main import main

    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with AwsServer(tmp_path / "real-clock.sqlite3") as server:  # the CLI reads the system clock
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.backend.admin.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.backend.admin.secret)
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
    bad = tokensim("aws", "serve", "--db", str(db), "--throttle-after", "5", "--lockout-after", "2")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "lockout_after" in bad.stderr
    same_home = {**os.environ, "TOKENSIM_HOME": str(tmp_path / "home")}  # its seal key lives there
    with serving(tmp_path, "--db", str(db), "--throttle-after", "1", "--lockout-after", "2",
                 "--backoff", "0") as proc:
        info = ready_line(proc)
        url = str(info["url"])
        iam = admin_client("iam", info)
        iam.create_user(UserName="alice")
        k = iam.create_access_key(UserName="alice")["AccessKey"]
        sts = boto3.client(
            "sts",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=k["AccessKeyId"],
            aws_secret_access_key=k["SecretAccessKey"],
        )
        vmfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
        serial = vmfa["SerialNumber"]
        totp = pyotp.TOTP(vmfa["Base32StringSeed"].decode())
        now = time.time()
        iam.enable_mfa_device(
            UserName="alice",
            SerialNumber=serial,
            AuthenticationCode1=totp.at(now),
            AuthenticationCode2=totp.at(now + 30),
        )
        for _ in range(2):
            with pytest.raises(ClientError):
                sts.get_session_token(
                    SerialNumber=serial, TokenCode="000000" if totp.now() != "000000" else "111111"
                )
        show = tokensim("verifier", "show", serial, "--db", str(db), "--json", env=same_home)
        assert show.returncode == 0, show.stderr
        assert json.loads(show.stdout)["locked"] is True
        unlock = tokensim("verifier", "unlock", serial, "--db", str(db), env=same_home)
        assert unlock.returncode == 0, unlock.stderr
        show = tokensim("verifier", "show", serial, "--db", str(db), "--json", env=same_home)
        assert json.loads(show.stdout)["locked"] is False
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_cli_manual_clock_and_fixed_admin_key(tmp_path: Path) -> None:
    import httpx

    with serving(tmp_path, "--db", str(tmp_path / "m.sqlite3"), "--clock", "manual", "--at", "1767225600",
                 "--admin-access-key-id", "AKIATOKENSIMADMIN001",
                 "--admin-secret-access-key", "s3cr3t") as proc:
        info = ready_line(proc)
        assert (info["access_key_id"], info["secret_access_key"], info["clock"]) == (
            "AKIATOKENSIMADMIN001", "s3cr3t", "manual")
        url = str(info["url"])
        assert httpx.get(url + "/_tokensim/clock", timeout=5).json()["iso"] == "2026-01-01T00:00:00Z"
        moved = httpx.post(url + "/_tokensim/clock", json={"advance": 90}, timeout=5).json()
        assert moved["now"] == 1767225690
        sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="AKIATOKENSIMADMIN001", aws_secret_access_key="s3cr3t")
        creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
        assert creds["Expiration"].timestamp() == 1767225690 + 900  # the account's (manual) time
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    half = tokensim("aws", "serve", "--db", str(tmp_path / "h.db"), "--admin-access-key-id", "AKIAONLYHALF")
    assert half.returncode == 1 and half.stderr.startswith("error: ") and half.stderr.count("\n") == 1
