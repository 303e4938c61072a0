"""AWS managed policies (moto's bundled copy of AWS's documents) and the reference flows built on them:
the IAM tutorial (Force_MFA + AmazonEC2FullAccess), the self-manage-MFA policy with
AmazonS3ReadOnlyAccess + IAMUserChangePassword and its ChangePassword lock-out, and the widely
copied force-MFA policy that also tests aws:ViaAWSService."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tokens.policy import (
    Decision,
    ManagedPolicyDataError,
    ManagedPolicyError,
    PolicyError,
    RequestContext,
    evaluate,
    load_policy,
    managed_policy,
    managed_policy_info,
    resolve_policy,
)
from tokens.policy import managed as managed_mod

DATA = Path(__file__).parent / "data"
ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


@pytest.mark.parametrize("ref", [
    "AmazonEC2FullAccess", "arn:aws:iam::aws:policy/AmazonEC2FullAccess",
])
def test_lookup_by_name_and_arn(ref: str) -> None:
    p = managed_policy(ref)
    assert p.name == "AmazonEC2FullAccess"
    assert any(c.operator == "StringEquals" and c.key == "iam:AWSServiceName"
               for s in p.statements for c in s.conditions)


def test_lookup_with_a_path() -> None:
    info = managed_policy_info("arn:aws:iam::aws:policy/service-role/AWSLambdaRole")
    assert info.path == "/service-role/" and info.arn.endswith("service-role/AWSLambdaRole")
    assert managed_policy_info("service-role/AWSLambdaRole") == info
    assert managed_policy_info("AWSLambdaRole") == info
    with pytest.raises(ManagedPolicyError, match="it is arn:aws:iam::aws:policy/service-role/AWSLambdaRole"):
        managed_policy_info("arn:aws:iam::aws:policy/AWSLambdaRole")


def test_unknown_names_are_one_line_with_a_hint() -> None:
    with pytest.raises(ManagedPolicyError, match=r"no AWS managed policy 'NoSuchPolicy'$"):
        managed_policy("NoSuchPolicy")
    with pytest.raises(ManagedPolicyError, match="did you mean AmazonEC2FullAccess"):
        managed_policy("amazonec2fullaccess")


def test_every_bundled_managed_policy_parses() -> None:
    names = managed_mod.managed_policy_names()
    assert len(names) > 1000
    for n in names:
        managed_policy(n)  # raises on the first document the parser cannot take


def test_missing_data_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    managed_mod._catalog.cache_clear()
    monkeypatch.setitem(sys.modules, "moto.iam.aws_managed_policies", None)
    try:
        with pytest.raises(ManagedPolicyDataError) as e:
            managed_policy("AmazonEC2FullAccess")
        assert str(e.value) == "AWS managed policies need moto: pip install 'tokensim[aws]'"
    finally:
        managed_mod._catalog.cache_clear()


def test_resolve_policy_prefers_files(tmp_path: Path) -> None:
    assert resolve_policy(str(DATA / "require-recent-mfa.json")).name == "require-recent-mfa.json"
    assert resolve_policy("AmazonS3ReadOnlyAccess").name == "AmazonS3ReadOnlyAccess"
    assert resolve_policy("service-role/AWSLambdaRole").name == "AWSLambdaRole"
    with pytest.raises(PolicyError, match="cannot read"):
        resolve_policy(str(tmp_path / "missing.json"))


def test_ec2_full_access_string_equals_condition() -> None:
    ec2 = managed_policy("AmazonEC2FullAccess")
    slr = "iam:CreateServiceLinkedRole"
    base = RequestContext.long_term_keys(slr, "*", "alice")
    spot = base.with_keys({"iam:AWSServiceName": "spot.amazonaws.com"})
    rds = spot.with_keys({"iam:AWSServiceName": "rds.amazonaws.com"})
    assert evaluate(ec2, spot).allowed
    assert evaluate(ec2, rds).decision is Decision.IMPLICIT_DENY
    unknown = evaluate(ec2, RequestContext.long_term_keys(slr, "*", "alice"))
    assert not unknown.allowed and unknown.missing_context_keys == ("iam:AWSServiceName",)


# --------------------------------------------------------------------------- the IAM tutorial


def ctx(action: str, resource: str = "*", mfa_age: float | None = None) -> RequestContext:
    if mfa_age is None:
        return RequestContext.long_term_keys(action, resource, "alice")
    return RequestContext.mfa_session(action, resource, "alice", age=mfa_age)


def test_iam_tutorial_force_mfa_with_ec2_full_access() -> None:
    """Group EC2MFA: Force_MFA + AmazonEC2FullAccess.  EC2 denied until MFA, allowed after; S3 never."""
    group = [load_policy(DATA / "aws-iam-mfa-selfmanage.json"), managed_policy("AmazonEC2FullAccess")]
    before = evaluate(group, ctx("ec2:DescribeInstances"))
    assert before.decision is Decision.EXPLICIT_DENY
    assert before.statement is not None and before.statement.sid == "BlockMostAccessUnlessSignedInWithMFA"
    assert before.policy == "aws-iam-mfa-selfmanage.json"
    # enrollment is possible without MFA
    assert evaluate(group, ctx("iam:CreateVirtualMFADevice", f"arn:aws:iam::{ACCOUNT}:mfa/alice")).allowed
    assert evaluate(group, ctx("iam:EnableMFADevice", ALICE)).allowed
    after = evaluate(group, ctx("ec2:DescribeInstances", mfa_age=60))
    assert after.allowed and after.policy == "AmazonEC2FullAccess"
    s3 = evaluate(group, ctx("s3:ListAllMyBuckets", mfa_age=60))
    assert s3.decision is Decision.IMPLICIT_DENY
    # DeactivateMFADevice needs MFA (Bool, not IfExists)
    assert not evaluate(group, ctx("iam:DeactivateMFADevice", ALICE)).allowed
    assert evaluate(group, ctx("iam:DeactivateMFADevice", ALICE, mfa_age=5)).allowed


def test_self_manage_mfa_with_s3_read_only_and_change_password() -> None:
    group = [load_policy(DATA / "fixed-allow-change-password.json"), managed_policy("AmazonS3ReadOnlyAccess"),
             managed_policy("IAMUserChangePassword")]
    assert evaluate(group, ctx("s3:GetObject", "arn:aws:s3:::b/k")).decision is Decision.EXPLICIT_DENY
    assert evaluate(group, ctx("s3:GetObject", "arn:aws:s3:::b/k", mfa_age=60)).allowed
    assert not evaluate(group, ctx("s3:PutObject", "arn:aws:s3:::b/k", mfa_age=60)).allowed
    # a first sign-in changes the password without MFA (the fixed variant exempts ChangePassword)
    change = RequestContext.session("iam:ChangePassword", ALICE, "alice")
    assert evaluate(group, change).allowed
    pathed = RequestContext.session("iam:ChangePassword", f"arn:aws:iam::{ACCOUNT}:user/staff/alice", "alice")
    assert evaluate(group, pathed).allowed  # IAMUserChangePassword's user/*/${aws:username}


def test_change_password_lock_out_variant_really_locks_out() -> None:
    """The documented self-manage policy without iam:ChangePassword in NotAction: a user whose password
    must be reset at first sign-in is denied ChangePassword, even with IAMUserChangePassword attached."""
    group = [load_policy(DATA / "aws-mfa-self-manage-credentials.json"),
             managed_policy("IAMUserChangePassword")]
    r = evaluate(group, RequestContext.session("iam:ChangePassword", ALICE, "alice"))
    assert r.decision is Decision.EXPLICIT_DENY
    assert r.statement is not None and r.statement.sid == "DenyAllExceptListedIfNoMFA"
    assert [m.label for m in r.matched if m.statement.effect.value == "Allow"] == [
        "aws-mfa-self-manage-credentials.json:AllowManageOwnPasswords", "IAMUserChangePassword:Statement[0]"]


def test_force_mfa_with_via_aws_service_loads_and_evaluates() -> None:
    group = [load_policy(DATA / "force-mfa-via-aws-service.json"), managed_policy("AmazonEC2FullAccess")]
    direct = evaluate(group, ctx("ec2:RunInstances"))  # aws:ViaAWSService=false for direct calls
    assert direct.decision is Decision.EXPLICIT_DENY and direct.warnings == ()
    # a call an AWS service makes on the user's behalf (CloudFormation ...)
    via = ctx("ec2:RunInstances").with_keys({"aws:ViaAWSService": True})
    assert evaluate(group, via).allowed
    assert evaluate(group, ctx("ec2:RunInstances", mfa_age=30)).allowed
    # if a caller leaves the key out entirely, BoolIfExists treats it as satisfied: still denied
    bare = ctx("ec2:RunInstances").with_keys({"aws:ViaAWSService": None})
    assert evaluate(group, bare).decision is Decision.EXPLICIT_DENY
