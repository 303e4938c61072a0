"""``tokensim policy simulate`` and ``policy check`` with managed policies: decisions, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokens._cli.main import main

DATA = Path(__file__).parent / "data"
FORCE = str(DATA / "force-mfa-via-aws-service.json")
TUTORIAL = str(DATA / "aws-iam-mfa-selfmanage.json")
EC2 = "AmazonEC2FullAccess"
S3RO = "AmazonS3ReadOnlyAccess"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["policy", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(("argv", "rc", "decision"), [
    (["ec2:RunInstances", "*", FORCE, EC2], 3, "ExplicitDeny"),
    (["ec2:RunInstances", "*", "--no-mfa", FORCE, EC2], 3, "ExplicitDeny"),
    (["ec2:RunInstances", "*", "--mfa-age", "60", FORCE, "arn:aws:iam::aws:policy/" + EC2], 0,
     "Allow"),
    (["s3:GetObject", "arn:aws:s3:::b/k", "--mfa-age", "60", TUTORIAL, EC2], 4,
     "ImplicitDeny"),
    (["ec2:RunInstances", "*", "--context", "aws:ViaAWSService=true", FORCE, EC2], 0, "Allow"),
    (["iam:CreateServiceLinkedRole", "*", "--context", "iam:AWSServiceName=spot.amazonaws.com",
      EC2], 0, "Allow"),
    (["iam:ChangePassword", "arn:aws:iam::123456789012:user/alice", "--username", "alice", "--no-mfa",
      str(DATA / "aws-mfa-self-manage-credentials.json"), "IAMUserChangePassword"], 3, "ExplicitDeny"),
    (["sts:AssumeRole", "arn:aws:iam::123456789012:role/Admin", "--root", "none"], 0, "Allow"),
])
def test_simulate_decisions_and_exit_codes(capsys: pytest.CaptureFixture[str], argv: list[str], rc: int,
                                           decision: str) -> None:
    got, out, err = run(capsys, "simulate", *argv, "--json")
    assert got == rc, err
    doc = json.loads(out)
    assert doc["decision"] == decision and doc["exit_code"] == rc


def test_simulate_human_output_explains(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "simulate", "ec2:RunInstances", "*", FORCE, "AmazonEC2FullAccess")
    assert rc == 3
    assert out.splitlines()[0] == "ec2:RunInstances on *: explicitDeny"
    assert "Deny  force-mfa-via-aws-service.json:DenyAllExceptListedIfNoMFA  (identity-based policy)" in out
    assert "Allow AmazonEC2FullAccess:Statement[0]" in out
    assert "long-term access keys" in out


def test_simulate_reports_missing_context_keys(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "simulate", "iam:CreateServiceLinkedRole", "*", "AmazonEC2FullAccess", "--json")
    doc = json.loads(out)
    assert rc == 4 and doc["missing_context_keys"] == ["iam:AWSServiceName"]
    assert doc["warnings"][0]["policy"] == "AmazonEC2FullAccess"


def test_simulate_resource_and_trust_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
        "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))
    role = "arn:aws:iam::123456789012:role/Admin"
    base = ["simulate", "sts:AssumeRole", role, "none", "--username", "alice", "--trust-policy", str(trust)]
    assert run(capsys, *base)[0] == 4
    assert run(capsys, *base, "--mfa-age", "10")[0] == 0
    bucket = tmp_path / "bucket.json"
    bucket.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
        "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}))
    s3 = ["simulate", "s3:GetObject", "arn:aws:s3:::b/k", S3RO, "--resource-policy", str(bucket)]
    assert run(capsys, *s3, "--source-ip", "203.0.113.5")[0] == 0
    rc, out, _ = run(capsys, *s3, "--source-ip", "198.51.100.1", "--json")
    assert rc == 3 and json.loads(out)["kind"] == "resource"


@pytest.mark.parametrize(("argv", "msg"), [
    (["s3:GetObject", "*", "NoSuchManagedPolicy"], "no AWS managed policy 'NoSuchManagedPolicy'"),
    (["s3:GetObject", "*", "missing.json"], "cannot read missing.json"),
    (["s3:GetObject", "*", "--context", "novalue", "AmazonS3ReadOnlyAccess"], "expected KEY=VALUE"),
    (["s3:GetObject", "*", "--at", "yesterday", "AmazonS3ReadOnlyAccess"], "--at"),
])
def test_simulate_bad_input_is_one_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                        msg: str) -> None:
    rc, out, err = run(capsys, "simulate", *argv)
    assert rc == 1 and out == "" and err.count("\n") == 1 and err.startswith("error: ") and msg in err


def test_simulate_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["policy", "simulate", "s3:GetObject", "*"])
    assert e.value.code == 2 and "POLICY" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["policy", "simulate", "s3:GetObject", "*", "--mfa-age", "5", "--no-mfa", S3RO])
    assert e.value.code == 2


def test_check_takes_managed_policies_and_the_via_aws_service_policy(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "check", FORCE, "AmazonEC2FullAccess", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["enrollment_ok"] and doc["mfa_enforced"]
    rc, out, _ = run(capsys, "check", TUTORIAL, "arn:aws:iam::aws:policy/AmazonEC2FullAccess", "--json")
    doc = json.loads(out)
    assert rc == 3 and "console:iam:ChangePassword" in doc["blocked"]


def test_simulate_any_caller_by_arn(capsys: pytest.CaptureFixture[str]) -> None:
    policy = str(DATA / "require-recent-mfa.json")
    bob = "arn:aws:sts::123456789012:assumed-role/Admin/bob"
    rc, out, err = run(capsys, "simulate", "s3:GetObject", "arn:aws:s3:::b/k", "--caller", bob, "none",
                       "--resource-policy", policy)
    assert rc == 1 and err.count("\n") == 1  # an identity policy is no resource policy: one line
    assert "names a Principal" in err
    rc, out, _ = run(capsys, "simulate", "s3:GetObject", "arn:aws:s3:::b/k", "--caller", bob,
                     "--mfa-age", "5", "--json", policy)
    doc = json.loads(out)
    assert rc == 0 and doc["context"]["keys"]["aws:PrincipalArn"] == "arn:aws:iam::123456789012:role/Admin"
    assert doc["context"]["keys"]["aws:userid"].endswith(":bob")
    rc, _, err = run(capsys, "simulate", "s3:GetObject", "*", "--caller", "arn:aws:iam::1:role/x", policy)
    assert rc == 1 and "not a principal ARN" in err
