"""The scoped IAM evaluator: matching, variables, MFA conditions, deny-wins logic."""

from __future__ import annotations

import pytest

from tokens.policy import Decision, Evaluator, PolicyError, RequestContext, evaluate, parse_policy
from tokens.policy.matching import action_matches, resource_matches

ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"


def pol(*statements: dict[str, object], version: str | None = "2012-10-17"):
    doc: dict[str, object] = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return parse_policy(doc, name="p")


ENFORCE = pol(
    {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "DenyNoMFA", "Effect": "Deny", "NotAction": ["iam:EnableMFADevice", "sts:GetSessionToken"],
     "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
)


@pytest.mark.parametrize(("pattern", "action", "hit"), [
    ("iam:*", "iam:ChangePassword", True),
    ("IAM:changepassword", "iam:ChangePassword", True),
    ("iam:*MFA*", "iam:ListVirtualMFADevices", True),
    ("iam:*MFADevice", "iam:ListMFADevices", False),
    ("iam:List?FADevices", "iam:ListMFADevices", True),
    ("*", "s3:ListAllMyBuckets", True),
    ("s3:*", "iam:ChangePassword", False),
    ("iam:Get", "iam:GetUser", False),
])
def test_action_wildcards_case_insensitive(pattern: str, action: str, hit: bool) -> None:
    assert action_matches(pattern, action) is hit


@pytest.mark.parametrize(("pattern", "resource", "hit"), [
    ("arn:aws:iam::*:user/${aws:username}", USER_ARN, True),
    ("arn:aws:iam::*:user/${aws:username}", f"arn:aws:iam::{ACCOUNT}:user/bob", False),
    ("arn:aws:iam::*:user/${aws:username}", f"arn:aws:iam::{ACCOUNT}:user/alice2", False),
    ("arn:aws:iam::*:mfa/${aws:username}", f"arn:aws:iam::{ACCOUNT}:mfa/alice", True),
    ("arn:aws:iam::*:user/ALICE", USER_ARN, False),  # resources are case-sensitive
    ("arn:aws:iam::*:user/${*}", f"arn:aws:iam::{ACCOUNT}:user/*", True),
    ("arn:aws:iam::*:user/${*}", USER_ARN, False),  # ${*} is a literal star
    ("arn:aws:iam::*:user/${aws:nosuchkey}", USER_ARN, False),
    ("arn:aws:iam::*:user/${aws:nosuchkey, 'alice'}", USER_ARN, True),
])
def test_resource_wildcards_and_variables(pattern: str, resource: str, hit: bool) -> None:
    ctx = RequestContext.long_term_keys("iam:GetUser", resource, "alice")
    assert resource_matches(pattern, resource, ctx) is hit


def test_variables_are_literal_in_2008_policies() -> None:
    st = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}
    ctx = RequestContext.long_term_keys("iam:GetUser", USER_ARN, "alice")
    assert evaluate(pol(st), ctx).allowed
    assert evaluate(pol(st, version=None), ctx).decision is Decision.IMPLICIT_DENY
    literal = RequestContext.long_term_keys("iam:GetUser", "arn:aws:iam::1:user/${aws:username}", "alice")
    assert evaluate(pol(st, version=None), literal).allowed


def test_boolifexists_denies_long_term_keys_and_unmfa_sessions_but_not_mfa_sessions() -> None:
    keys = RequestContext.long_term_keys("s3:ListAllMyBuckets", "*", "alice")
    console = RequestContext.session("s3:ListAllMyBuckets", "*", "alice")
    mfa = RequestContext.session("s3:ListAllMyBuckets", "*", "alice", mfa_age=30)
    for ctx in (keys, console):
        r = evaluate(ENFORCE, ctx)
        assert r.decision is Decision.EXPLICIT_DENY
        assert r.statement is not None and r.statement.sid == "DenyNoMFA"
    r = evaluate(ENFORCE, mfa)
    assert r.decision is Decision.ALLOW and r.statement is not None and r.statement.sid == "AllowAll"


def test_notaction_exempts_listed_actions() -> None:
    r = evaluate(ENFORCE, RequestContext.long_term_keys("iam:EnableMFADevice", USER_ARN, "alice"))
    assert r.allowed


def test_bool_without_ifexists_lets_long_term_keys_through() -> None:
    broken = pol(
        {"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "DenyNoMFA", "Effect": "Deny", "NotAction": "iam:EnableMFADevice", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": False}}},
    )
    assert evaluate(broken, RequestContext.long_term_keys("s3:ListAllMyBuckets")).allowed
    assert not evaluate(broken, RequestContext.session("s3:ListAllMyBuckets")).allowed


@pytest.mark.parametrize(("age", "s3", "ec2"), [
    (None, Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY),   # long-term keys: age absent
    (60, Decision.ALLOW, Decision.ALLOW),
    (900, Decision.ALLOW, Decision.ALLOW),                     # not greater than 900
    (901, Decision.ALLOW, Decision.EXPLICIT_DENY),
    (3599.5, Decision.ALLOW, Decision.EXPLICIT_DENY),
    (3600, Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY),    # not less than 3600
])
def test_mfa_age_numeric_conditions(age: float | None, s3: Decision, ec2: Decision) -> None:
    p = pol(
        {"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*",
         "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
        {"Sid": "OldMFA", "Effect": "Deny", "Action": "ec2:*", "Resource": "*",
         "Condition": {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": 900}}},
        {"Sid": "Ec2", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    )
    ctx = (RequestContext.long_term_keys if age is None else RequestContext.session)
    kw = {} if age is None else {"mfa_age": age}
    assert evaluate(p, ctx("s3:ListAllMyBuckets", "*", "alice", **kw)).decision is s3  # type: ignore[operator]
    assert evaluate(p, ctx("ec2:DescribeInstances", "*", "alice", **kw)).decision is ec2  # type: ignore[operator]


def test_null_condition_on_mfa_age() -> None:
    p = pol({"Sid": "NoMFA", "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"Null": {"aws:MultiFactorAuthAge": "true"}}},
            {"Effect": "Allow", "Action": "*", "Resource": "*"})
    assert not evaluate(p, RequestContext.long_term_keys("s3:GetObject")).allowed
    assert not evaluate(p, RequestContext.session("s3:GetObject")).allowed
    assert evaluate(p, RequestContext.session("s3:GetObject", mfa_age=5)).allowed


def test_condition_values_or_and_keys_and() -> None:
    p = pol({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
        "Bool": {"aws:MultiFactorAuthPresent": ["true", "false"]},   # OR over values
        "NumericLessThanEquals": {"aws:multifactorauthage": "100"}}})  # keys are case-insensitive; AND
    assert evaluate(p, RequestContext.session("s3:X", mfa_age=100)).allowed
    assert not evaluate(p, RequestContext.session("s3:X", mfa_age=101)).allowed
    assert not evaluate(p, RequestContext.session("s3:X")).allowed  # age absent, no IfExists


def test_not_resource() -> None:
    p = pol({"Effect": "Allow", "Action": "iam:*", "NotResource": "arn:aws:iam::*:user/root-like"})
    assert evaluate(p, RequestContext.long_term_keys("iam:GetUser", USER_ARN)).allowed
    other = RequestContext.long_term_keys("iam:GetUser", "arn:aws:iam::1:user/root-like")
    assert not evaluate(p, other).allowed


def test_deny_wins_over_allow_in_another_policy_and_first_allow_reported() -> None:
    allow = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "A1", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "A2", "Effect": "Allow", "Action": "*", "Resource": "*"}]}, name="allow.json")
    deny = parse_policy({"Version": "2012-10-17", "Statement": {
        "Sid": "D", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}}, name="deny.json")
    ev = Evaluator([allow, deny])
    r = ev.evaluate(RequestContext.long_term_keys("s3:DeleteBucket"))
    assert r.decision is Decision.EXPLICIT_DENY and r.policy == "deny.json"
    assert "deny.json:D" in r.explain()
    r = ev.evaluate(RequestContext.long_term_keys("s3:GetObject"))
    assert r.allowed and r.statement is not None and r.statement.sid == "A1"
    assert ev.evaluate(RequestContext.long_term_keys("iam:GetUser")).statement.sid == "A2"  # type: ignore[union-attr]


@pytest.mark.parametrize(("doc", "msg"), [
    ([1, 2], "not an IAM policy"),
    ({"Version": "2012-10-17"}, "not an IAM policy"),
    ({"Version": "2020-01-01", "Statement": []}, "unknown policy Version"),
    ({"Statement": []}, "no statements"),
    ({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, "Effect"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"}]}, "exactly one"),
    ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, "Resource"),
    ({"Statement": [{"Effect": "Allow", "Action": "ListUsers", "Resource": "*"}]}, "service:action"),
    ({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}, "empty"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": []}]}, "Condition"),
])
def test_malformed_documents(doc: object, msg: str) -> None:
    with pytest.raises(PolicyError, match=msg):
        parse_policy(doc)
