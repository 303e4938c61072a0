"""The enrollment walk on the AWS documentation policies and deliberately broken variants, library and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokens._cli.main import main
from tokens.policy import Decision, Target, check_enrollment, load_policy, parse_policy

DATA = Path(__file__).parent / "data"
OFFICIAL = DATA / "aws-mfa-self-manage-credentials.json"


def walk(name: str, **kw: object):
    return check_enrollment([load_policy(DATA / name)], Target(user="alice"), **kw)  # type: ignore[arg-type]


def statuses(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f"{s.walk}:{s.step.action}": s.status for s in report.enrollment}


def test_aws_doc_policy_blocks_change_password_at_first_sign_in() -> None:
    r = walk(OFFICIAL.name)
    assert [f"{s.walk}:{s.step.action}" for s in r.blocked] == ["console:iam:ChangePassword"]
    s = r.blocked[0]
    assert s.result.decision is Decision.EXPLICIT_DENY
    assert s.result.statement is not None and s.result.statement.sid == "DenyAllExceptListedIfNoMFA"
    assert s.resource == "arn:aws:iam::123456789012:user/alice"
    # everything else of the enrollment works in both walks
    others = {k: v for k, v in statuses(r).items() if k != "console:iam:ChangePassword"}
    assert set(others.values()) == {"ok"}
    # GetSessionToken is not granted by the policy, but it needs no permission
    gst = next(s for s in r.enrollment if s.step.action == "sts:GetSessionToken")
    assert gst.result.decision is Decision.IMPLICIT_DENY and gst.status == "ok"
    # an MFA session can then manage its own credentials; the policy grants nothing outside IAM
    after = {x.context.action: x.decision for x in r.with_mfa}
    assert after["iam:ChangePassword"] is Decision.ALLOW
    assert after["iam:DeleteVirtualMFADevice"] is Decision.ALLOW
    assert after["s3:ListAllMyBuckets"] is Decision.IMPLICIT_DENY
    assert not r.unenforced


def test_aws_doc_policy_with_the_documented_fix_passes() -> None:
    r = walk("fixed-allow-change-password.json")
    assert not r.blocked and not r.warnings
    assert set(statuses(r).values()) == {"ok"}


def test_aws_self_manage_mfa_policy_denies_get_session_token_as_a_warning() -> None:
    r = walk("aws-iam-mfa-selfmanage.json")
    assert statuses(r)["cli:sts:GetSessionToken"] == "warning"
    assert statuses(r)["console:iam:ChangePassword"] == "blocked"
    strict = walk("aws-iam-mfa-selfmanage.json", strict=True)
    assert statuses(strict)["cli:sts:GetSessionToken"] == "blocked"
    # DeactivateMFADevice needs MFA (Bool true): allowed for the MFA session
    assert {x.context.action: x.decision for x in r.with_mfa}["iam:DeactivateMFADevice"] is Decision.ALLOW


def test_missing_enable_mfa_device_locks_out_both_walks() -> None:
    r = walk("broken-missing-enable-mfa-device.json")
    assert sorted(f"{s.walk}:{s.step.action}" for s in r.blocked) == [
        "cli:iam:EnableMFADevice", "console:iam:EnableMFADevice"]


def test_missing_get_session_token_is_a_warning_unless_strict() -> None:
    r = walk("broken-missing-get-session-token.json")
    assert not r.blocked and [s.step.action for s in r.warnings] == ["sts:GetSessionToken"]
    assert walk("broken-missing-get-session-token.json", strict=True).blocked


def test_mfa_device_resource_written_as_user_arn_blocks_create() -> None:
    r = walk("broken-mfa-device-resource-is-user.json")
    blocked = {(s.walk, s.step.action, s.result.decision) for s in r.blocked}
    assert blocked == {("console", "iam:CreateVirtualMFADevice", Decision.IMPLICIT_DENY),
                       ("cli", "iam:CreateVirtualMFADevice", Decision.IMPLICIT_DENY)}


def test_missing_version_keeps_username_literal_and_blocks_user_steps() -> None:
    r = walk("broken-no-version-literal-variables.json")
    blocked = {s.step.action for s in r.blocked}
    assert {"iam:EnableMFADevice", "iam:CreateVirtualMFADevice", "iam:ChangePassword"} <= blocked
    assert "iam:ListVirtualMFADevices" not in blocked  # Resource "*" needs no variable


def test_bool_instead_of_boolifexists_lets_access_keys_skip_mfa() -> None:
    r = walk("broken-bool-instead-of-boolifexists.json", grant_all=True)
    assert not r.blocked
    assert [(w, x.context.action) for w, x in r.unenforced] == [
        ("cli", "s3:ListAllMyBuckets"), ("cli", "ec2:DescribeInstances")]
    # the probe does not need --grant-all: enforcement is about denies
    assert len(walk("broken-bool-instead-of-boolifexists.json").unenforced) == 2
    ok = walk("fixed-allow-change-password.json", grant_all=True)
    assert not ok.unenforced and not ok.blocked
    # a policy with no MFA deny at all does not enforce MFA either
    no_deny = check_enrollment([parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*MFA*", "Resource": "*"}]})], Target(user="alice"))
    assert len(no_deny.unenforced) == 4
    assert [s.step.action for s in no_deny.blocked] == ["iam:ChangePassword"]  # not granted


def test_device_name_and_account_in_arns() -> None:
    r = check_enrollment([load_policy(OFFICIAL)], Target(account_id="210987654321", user="bob",
                                                         device="bob-phone"))
    create = next(s for s in r.enrollment if s.step.action == "iam:CreateVirtualMFADevice")
    assert create.resource == "arn:aws:iam::210987654321:mfa/bob-phone"
    assert create.status == "blocked"  # the policy only allows mfa/${aws:username}


# --------------------------------------------------------------------------- CLI


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["policy", "check", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(("name", "extra", "rc"), [
    ("aws-mfa-self-manage-credentials.json", [], 3),
    ("fixed-allow-change-password.json", [], 0),
    ("fixed-allow-change-password.json", ["--grant-all"], 0),
    ("broken-missing-enable-mfa-device.json", [], 3),
    ("broken-missing-get-session-token.json", [], 0),
    ("broken-missing-get-session-token.json", ["--strict"], 3),
    ("broken-bool-instead-of-boolifexists.json", ["--grant-all"], 4),
    ("broken-bool-instead-of-boolifexists.json", [], 4),
    ("aws-mfa-self-manage-credentials.json", ["--walk", "cli"], 0),
])
def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], name: str, extra: list[str], rc: int) -> None:
    got, out, err = run(capsys, str(DATA / name), "--json", *extra)
    assert got == rc, err
    doc = json.loads(out)
    assert doc["exit_code"] == rc
    assert doc["enrollment_ok"] is (rc != 3)


def test_cli_human_output_names_the_blocking_statement(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, str(OFFICIAL), "--user", "alice")
    assert rc == 3
    assert "BLOCKED  console: iam:ChangePassword" in out
    assert "DenyAllExceptListedIfNoMFA" in out


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    rc, out, err = run(capsys, str(bad))
    assert rc == 1 and out == "" and err.count("\n") == 1 and "not valid JSON" in err
    notpol = tmp_path / "np.json"
    notpol.write_text('{"Version": "2012-10-17"}')
    rc, _, err = run(capsys, str(notpol))
    assert rc == 1 and "not an IAM policy" in err and err.count("\n") == 1
    rc, _, err = run(capsys, str(tmp_path / "missing.json"))
    assert rc == 1 and "cannot read" in err
