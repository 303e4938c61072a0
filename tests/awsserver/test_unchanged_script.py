"""An existing boto3 enrollment script, unchanged, pointed at the endpoint with AWS_ENDPOINT_URL only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tokens.qr import read_qr
from tokens.virtual import VirtualTOTP

from .conftest import Aws

SCRIPT = Path(__file__).parent / "data" / "enroll_mfa.py"


def run_script(aws: Aws, tmp_path: Path, answers: list[str | None]) -> tuple[int, str]:
    """Run the script; for each prompt, the next answer (None: a correct code for the current step;
    'REPLAY' : the previous answer again; anything else verbatim).  The clock moves 30 s per prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    key, secret = aws.keys["alice"]  # the user enrolls herself, with her own keys
    env.update(AWS_ENDPOINT_URL=aws.server.url, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_MAX_ATTEMPTS="1")
    qr = tmp_path / "alice.png"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "alice", str(qr)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdin is not None and proc.stderr is not None
    token: VirtualTOTP | None = None
    last = ""
    try:
        for answer in answers:
            prompt = proc.stderr.readline()
            if not prompt:
                break
            if token is None:  # the user scans the QR code the script wrote
                token = VirtualTOTP.from_uri(read_qr(qr.read_bytes()), reference=aws.clock)
            last = token.code() if answer is None else last if answer == "REPLAY" else answer
            proc.stdin.write(last + "\n")
            proc.stdin.flush()
            aws.clock.advance(30)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    return proc.returncode, out


FORCE_MFA = Path(__file__).resolve().parents[2] / "examples" / "aws" / "policies" / "force-mfa.json"


@pytest.fixture
def alice(aws: Aws) -> Aws:
    """alice with her own access key and AWS's Force_MFA policy (she may enroll her own device)."""
    aws.user("alice")
    arn = aws.iam.create_policy(PolicyName="Force_MFA", PolicyDocument=FORCE_MFA.read_text())["Policy"]["Arn"]
    aws.iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    return aws


def test_script_enrolls_and_gets_a_session(alice: Aws, tmp_path: Path) -> None:
    rc, out = run_script(alice, tmp_path, [None, None, None])
    assert rc == 0, out
    assert "enabled arn:aws:iam::123456789012:mfa/alice" in out and "session ASIA" in out
    assert alice.iam.list_mfa_devices(UserName="alice")["MFADevices"][0]["UserName"] == "alice"


@pytest.mark.parametrize(("answers", "expected"), [
    (["123456", None], "failed: InvalidAuthenticationCode: Authentication code for device is not valid."),
    ([None, None, "REPLAY"], "failed: AccessDenied: MultiFactorAuthentication failed with invalid MFA one "
                             "time pass code."),
])
def test_script_sees_the_real_aws_errors(alice: Aws, tmp_path: Path, answers: list[str | None],
                                         expected: str) -> None:
    rc, out = run_script(alice, tmp_path, answers)
    assert rc == 1 and expected in out
