"""The IAM tutorial flow through the AWS CLI (awscli, the dev extra) against the endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp
import pytest

from .conftest import Aws

FORCE_MFA = Path(__file__).resolve().parents[2] / "examples" / "aws" / "policies" / "force-mfa.json"
AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(AWS is None, reason="the AWS CLI (pip install awscli) is not installed")


def aws_cli(aws: Aws, tmp_path: Path, creds: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_MAX_ATTEMPTS="1")
    if creds.get("SessionToken"):
        env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
    assert AWS is not None
    return subprocess.run([AWS, "--endpoint-url", aws.server.url, "--output", "json", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def ok(r: subprocess.CompletedProcess[str]) -> Any:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if r.stdout.strip() else None


def test_tutorial_flow_through_the_aws_cli(aws: Aws, tmp_path: Path) -> None:
    key, secret = aws.user("alice")
    alice = {"AccessKeyId": key, "SecretAccessKey": secret}
    arn = aws.iam.create_policy(PolicyName="Force_MFA", PolicyDocument=FORCE_MFA.read_text())["Policy"]["Arn"]
    aws.iam.create_group(GroupName="EC2MFA")
    aws.iam.attach_group_policy(GroupName="EC2MFA", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    aws.iam.attach_group_policy(GroupName="EC2MFA", PolicyArn=arn)
    aws.iam.add_user_to_group(GroupName="EC2MFA", UserName="alice")

    denied = aws_cli(aws, tmp_path, alice, "ec2", "describe-instances")
    assert denied.returncode != 0 and "UnauthorizedOperation" in denied.stderr
    seed_file = tmp_path / "seed.txt"
    vmfa = ok(aws_cli(aws, tmp_path, alice, "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name",
                      "alice", "--outfile", str(seed_file), "--bootstrap-method", "Base32StringSeed"))
    serial = vmfa["VirtualMFADevice"]["SerialNumber"]
    totp = pyotp.TOTP(seed_file.read_text().strip())
    t = aws.clock.now()
    ok(
        aws_cli(
            aws,
            tmp_path,
            alice,
            "iam",
            "enable-mfa-device",
            "--user-name",
            "alice",
            "--serial-number",
            serial,
            "--authentication-code1",
            totp.at(t - 30),
            "--authentication-code2",
            totp.at(t),
        )
    )
    aws.clock.advance(30)
    creds = ok(
        aws_cli(
            aws,
            tmp_path,
            alice,
            "sts",
            "get-session-token",
            "--serial-number",
            serial,
            "--token-code",
            totp.at(aws.clock.now()),
        )
    )["Credentials"]
    assert ok(aws_cli(aws, tmp_path, creds, "ec2", "describe-instances"))["Reservations"] == []
    s3 = aws_cli(aws, tmp_path, creds, "s3api", "list-buckets")
    assert s3.returncode != 0 and "AccessDenied" in s3.stderr
