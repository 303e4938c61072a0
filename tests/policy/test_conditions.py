"""Every IAM condition operator, from the cases AWS's documentation spells out.

Each row of CASES is one ``Condition`` entry evaluated in an Allow-everything statement against a
request context: (operator, key, policy values, context keys, expected).  Sources: the IAM User
Guide pages "Condition operators", "Conditions with multiple context keys or values", "Single-valued
vs. multivalued context keys", "Policy variables" and "AWS global condition context keys".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tokens.policy import OPERATORS, MalformedPolicyError, RequestContext, evaluate, parse_policy

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # 1767225600
TAGS = "aws:TagKeys"
B64 = "QmluYXJ5VmFsdWVJbkJhc2U2NA=="
ENV = ["environment", "cost-center"]
SRC = "aws:SourceArn"
IP = "aws:SourceIp"
NETS = ["203.0.113.0/24", "2001:DB8::/32"]

# (operator, key, policy values, context keys, expected)
CASES: list[tuple[str, str, Any, dict[str, Any], bool]] = [
    # --- String: exact, case-sensitive; values OR; negated operators NOR; absent: false / negated true
    ("StringEquals", "aws:username", "alice", {"aws:username": "alice"}, True),
    ("StringEquals", "aws:username", "alice", {"aws:username": "Alice"}, False),
    ("StringEquals", "aws:username", "alice", {}, False),
    ("StringEquals", "aws:username", ["bob", "alice"], {"aws:username": "alice"}, True),
    ("StringEquals", "AWS:USERNAME", "alice", {"aws:username": "alice"}, True),  # keys case-insensitive
    ("StringNotEquals", "aws:username", ["bob", "alice"], {"aws:username": "alice"}, False),
    ("StringNotEquals", "aws:username", ["bob", "alice"], {"aws:username": "carol"}, True),
    ("StringNotEquals", "aws:username", "bob", {}, True),
    ("StringEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "alice"}, True),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "alice"}, False),
    ("StringNotEqualsIgnoreCase", "aws:username", "ALICE", {"aws:username": "bob"}, True),
    ("StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/alice/x"}, True),
    ("StringLike", "s3:prefix", "home/*", {"s3:prefix": "Home/alice"}, False),
    ("StringLike", "s3:prefix", "a?c", {"s3:prefix": "abc"}, True),
    ("StringLike", "s3:prefix", "a?c", {"s3:prefix": "ac"}, False),
    ("StringLike", "s3:prefix", "a.c", {"s3:prefix": "abc"}, False),  # only * and ? are special
    ("StringNotLike", "aws:UserAgent", ["*.example.com", "curl*"], {"aws:UserAgent": "x.example.com"}, False),
    ("StringNotLike", "aws:UserAgent", ["*.example.com", "curl*"], {"aws:UserAgent": "boto3"}, True),
    ("StringNotLike", "aws:UserAgent", "curl*", {}, True),
    ("StringEqualsIfExists", "ec2:InstanceType", "t3.micro", {}, True),
    ("StringEqualsIfExists", "ec2:InstanceType", "t3.micro", {"ec2:InstanceType": "m5.large"}, False),
    ("StringEqualsIfExists", "ec2:InstanceType", "t3.micro", {"ec2:InstanceType": "t3.micro"}, True),
    ("StringNotEqualsIfExists", "ec2:InstanceType", "t3.micro", {}, True),
    ("StringNotLikeIfExists", "ec2:InstanceType", "t3.*", {"ec2:InstanceType": "t3.nano"}, False),
    # --- policy variables in values (2012-10-17): literal substitution, defaults, ${*} ${?} ${$}
    ("StringEquals", "s3:prefix", "home/${aws:username}/",
     {"s3:prefix": "home/alice/", "aws:username": "alice"}, True),
    ("StringLike", "s3:prefix", "home/${aws:username}/*",
     {"s3:prefix": "home/bob/x", "aws:username": "alice"}, False),
    ("StringLike", "s3:prefix", "${aws:username}", {"s3:prefix": "a*", "aws:username": "a*"}, True),
    ("StringLike", "s3:prefix", "${aws:username}", {"s3:prefix": "ab", "aws:username": "a*"}, False),
    ("StringLike", "s3:prefix", "a${*}", {"s3:prefix": "a*"}, True),
    ("StringLike", "s3:prefix", "a${*}", {"s3:prefix": "ab"}, False),
    ("StringEquals", "s3:prefix", "a${?}${$}", {"s3:prefix": "a?$"}, True),
    ("StringEquals", "s3:prefix", "${aws:PrincipalTag/dept, 'shared'}/", {"s3:prefix": "shared/"}, True),
    ("StringEquals", "s3:prefix", "${aws:PrincipalTag/dept, 'shared'}/",
     {"s3:prefix": "shared/", "aws:PrincipalTag/dept": "eng"}, False),
    ("StringEquals", "s3:prefix", "${aws:PrincipalTag/dept}/", {"s3:prefix": "/"}, False),  # unresolved
    ("StringEquals", "aws:PrincipalTag/team", "${aws:ResourceTag/team}",
     {"aws:PrincipalTag/team": "red", "aws:ResourceTag/team": "red"}, True),
    # --- Numeric
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600", {"aws:MultiFactorAuthAge": 3599}, True),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600", {"aws:MultiFactorAuthAge": 3600}, False),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600", {}, False),
    ("NumericLessThanEquals", "aws:MultiFactorAuthAge", 3600, {"aws:MultiFactorAuthAge": 3600}, True),
    ("NumericGreaterThan", "aws:MultiFactorAuthAge", "900", {"aws:MultiFactorAuthAge": 900.5}, True),
    ("NumericGreaterThanEquals", "aws:MultiFactorAuthAge", "900", {"aws:MultiFactorAuthAge": 899}, False),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "10.0"}, True),
    ("NumericEquals", "s3:max-keys", ["5", "10"], {"s3:max-keys": 10}, True),
    ("NumericNotEquals", "s3:max-keys", ["5", "10"], {"s3:max-keys": 10}, False),
    ("NumericNotEquals", "s3:max-keys", ["5", "10"], {"s3:max-keys": 7}, True),
    ("NumericNotEquals", "s3:max-keys", "10", {}, True),
    ("NumericLessThanIfExists", "aws:MultiFactorAuthAge", "3600", {}, True),
    ("NumericGreaterThanIfExists", "aws:MultiFactorAuthAge", "900", {"aws:MultiFactorAuthAge": 901}, True),
    ("NumericEquals", "s3:max-keys", "10", {"s3:max-keys": "ten"}, False),  # not a number: no match
    # --- Date: ISO 8601 (date, time, offset, fraction) or epoch seconds
    ("DateGreaterThan", "aws:CurrentTime", "2025-12-31T23:59:59Z", {"aws:CurrentTime": T0}, True),
    ("DateLessThan", "aws:CurrentTime", "2026-01-01", {"aws:CurrentTime": T0}, False),
    ("DateLessThanEquals", "aws:CurrentTime", "2026-01-01", {"aws:CurrentTime": T0}, True),
    ("DateEquals", "aws:CurrentTime", "1767225600", {"aws:CurrentTime": T0}, True),
    ("DateEquals", "aws:CurrentTime", "2026-01-01T02:00:00+02:00", {"aws:CurrentTime": T0}, True),
    ("DateLessThan", "aws:CurrentTime", "2026-01-01T00:00:00.500Z", {"aws:CurrentTime": T0}, True),
    ("DateGreaterThanEquals", "aws:EpochTime", "2026-01-01T00:00:00Z", {"aws:EpochTime": 1767225600}, True),
    ("DateGreaterThan", "aws:TokenIssueTime", "2025-06-01T00:00:00Z",
     {"aws:TokenIssueTime": "2025-07-01T12:00:00Z"}, True),
    ("DateNotEquals", "aws:CurrentTime", "2026-01-01T00:00:00Z", {"aws:CurrentTime": T0}, False),
    ("DateNotEquals", "aws:TokenIssueTime", "2026-01-01T00:00:00Z", {}, True),
    ("DateLessThanIfExists", "aws:TokenIssueTime", "2026-01-01T00:00:00Z", {}, True),
    ("DateLessThan", "aws:TokenIssueTime", "2026-01-01T00:00:00Z", {}, False),
    # --- Bool
    ("Bool", "aws:SecureTransport", "true", {"aws:SecureTransport": True}, True),
    ("Bool", "aws:SecureTransport", True, {"aws:SecureTransport": False}, False),
    ("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "FALSE"}, True),
    ("Bool", "aws:MultiFactorAuthPresent", "false", {}, False),  # long-term keys pass a Bool deny
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", {}, True),  # ... and are caught by IfExists
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": False}, True),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": True}, False),
    ("BoolIfExists", "aws:ViaAWSService", "false", {"aws:ViaAWSService": False}, True),
    # --- Binary
    ("BinaryEquals", "s3:x-amz-key", B64, {"s3:x-amz-key": B64}, True),
    ("BinaryEquals", "s3:x-amz-key", B64, {"s3:x-amz-key": "b3RoZXI="}, False),
    ("BinaryEqualsIfExists", "s3:x-amz-key", B64, {}, True),
    # --- IP addresses (CIDR, v4 and v6)
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.9"}, True),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.1"}, False),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {}, False),
    ("IpAddress", "aws:SourceIp", "203.0.113.9", {"aws:SourceIp": "203.0.113.9"}, True),
    ("IpAddress", "aws:SourceIp", "2001:DB8:1234:5678::/64", {"aws:SourceIp": "2001:db8:1234:5678::1"}, True),
    ("IpAddress", "aws:SourceIp", "2001:DB8:1234:5678::/64", {"aws:SourceIp": "203.0.113.9"}, False),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "not-an-ip"}, False),
    ("NotIpAddress", IP, NETS, {IP: "192.0.2.1"}, True),
    ("NotIpAddress", IP, NETS, {IP: "2001:db8::5"}, False),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {}, True),
    ("IpAddressIfExists", "aws:SourceIp", "203.0.113.0/24", {}, True),
    # --- ARNs: wildcards per segment, case-sensitive; ArnEquals and ArnLike behave the same
    ("ArnLike", SRC, "arn:aws:s3:::bucket-*", {SRC: "arn:aws:s3:::bucket-1"}, True),
    ("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::123456789012:role/*",
     {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}, True),
    ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/admin",
     {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/Admin"}, False),
    ("ArnLike", SRC, "arn:aws:sns:us-east-1:*:*",
     {SRC: "arn:aws:sns:us-west-2:123456789012:topic"}, False),
    ("ArnLike", SRC, "arn:aws:s3:::*", {SRC: "arn:aws:iam::1:user/x"}, False),
    ("ArnLike", SRC, "arn:aws:iam::*:user/a",  # a wildcard does not span a segment's colon
     {SRC: "arn:aws:iam::1:2:user/a"}, False),
    ("ArnLike", SRC, "arn:aws:iam::1*:role/x", {SRC: "arn:aws:iam::123:role/x"}, True),
    ("ArnNotLike", SRC, "arn:aws:s3:::bucket-*", {SRC: "arn:aws:s3:::bucket-1"}, False),
    ("ArnNotEquals", SRC, "arn:aws:s3:::bucket-1", {SRC: "arn:aws:s3:::bucket-2"}, True),
    ("ArnNotLike", SRC, "arn:aws:s3:::bucket-*", {}, True),
    ("ArnLikeIfExists", SRC, "arn:aws:s3:::bucket-*", {}, True),
    # --- Null: "true" = the key is absent
    ("Null", "aws:TokenIssueTime", "true", {}, True),
    ("Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": T0}, False),
    ("Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": T0}, True),
    ("Null", "aws:TokenIssueTime", False, {}, False),
    ("Null", TAGS, "true", {TAGS: []}, True),  # an empty multivalued key counts as absent
    # --- set qualifiers on a multivalued key
    ("ForAllValues:StringEquals", TAGS, ENV, {TAGS: ["environment"]}, True),
    ("ForAllValues:StringEquals", TAGS, ENV, {TAGS: ["environment", "cost-center"]},
     True),
    ("ForAllValues:StringEquals", TAGS, ENV, {TAGS: ["environment", "other"]}, False),
    ("ForAllValues:StringEquals", TAGS, ENV, {}, True),  # absent: true
    ("ForAllValues:StringEquals", TAGS, ENV, {TAGS: []}, True),  # empty: true
    ("ForAnyValue:StringEquals", TAGS, ENV, {TAGS: ["environment", "other"]}, True),
    ("ForAnyValue:StringEquals", TAGS, ENV, {TAGS: ["other"]}, False),
    ("ForAnyValue:StringEquals", TAGS, ENV, {}, False),  # absent: false
    ("ForAnyValue:StringEquals", TAGS, ENV, {TAGS: []}, False),
    ("ForAnyValue:StringEqualsIfExists", TAGS, ["environment"], {}, True),
    ("ForAllValues:StringNotEquals", TAGS, ["a", "b"], {TAGS: ["c", "d"]}, True),
    ("ForAllValues:StringNotEquals", TAGS, ["a", "b"], {TAGS: ["a", "c"]}, False),
    ("ForAllValues:StringNotEquals", TAGS, ["a", "b"], {}, True),
    ("ForAnyValue:StringNotEquals", TAGS, ["a", "b"], {TAGS: ["a", "c"]}, True),
    ("ForAnyValue:StringNotEquals", TAGS, ["a", "b"], {TAGS: ["a", "b"]}, False),
    ("ForAnyValue:StringNotEquals", TAGS, ["a", "b"], {}, False),
    ("ForAllValues:StringLike", TAGS, "env*", {TAGS: ["env1", "env2"]}, True),
    ("ForAllValues:StringLike", TAGS, "env*", {TAGS: ["env1", "x"]}, False),
    ("ForAnyValue:StringLike", "aws:CalledVia", "athena.*", {"aws:CalledVia": ["athena.amazonaws.com"]},
     True),
    ("ForAnyValue:StringEquals", "aws:username", "alice", {"aws:username": "alice"}, True),  # single value
    ("StringEquals", TAGS, "a", {TAGS: ["a", "b"]}, True),  # no qualifier on a list: any value matches
    ("StringNotEquals", TAGS, "a", {TAGS: ["a", "b"]}, False),  # ... negated: none may match
    ("ForAnyValue:NumericLessThan", "s3:max-keys", "10", {"s3:max-keys": 5}, True),
]


def _allowed(op: str, key: str, values: Any, keys: dict[str, Any], version: str = "2012-10-17") -> bool:
    policy = parse_policy({"Version": version, "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {op: {key: values}}}]})
    return evaluate(policy, RequestContext("s3:GetObject", "*", None, keys)).allowed


@pytest.mark.parametrize(("op", "key", "values", "keys", "expected"), CASES,
                         ids=[f"{i}-{c[0]}" for i, c in enumerate(CASES)])
def test_documented_condition_cases(op: str, key: str, values: Any, keys: dict[str, Any],
                                    expected: bool) -> None:
    assert _allowed(op, key, values, keys) is expected


def test_every_operator_and_its_ifexists_variant_is_in_the_table() -> None:
    bases = {c[0].split(":")[-1].removesuffix("IfExists") for c in CASES}
    assert bases == set(OPERATORS)
    with_if_exists = {c[0].split(":")[-1].removesuffix("IfExists")
                      for c in CASES if c[0].endswith("IfExists")}
    families = {OPERATORS[b].family for b in with_if_exists}
    assert families == {OPERATORS[b].family for b in OPERATORS} - {OPERATORS["Null"].family}


def test_variables_are_literal_text_in_2008_documents() -> None:
    keys = {"s3:prefix": "home/alice/", "aws:username": "alice"}
    assert _allowed("StringEquals", "s3:prefix", "home/${aws:username}/", keys)
    assert not _allowed("StringEquals", "s3:prefix", "home/${aws:username}/", keys, version="2008-10-17")
    literal = {"s3:prefix": "home/${aws:username}/"}
    assert _allowed("StringEquals", "s3:prefix", "home/${aws:username}/", literal, version="2008-10-17")


def test_multiple_keys_and_operators_are_anded() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {
            "StringEquals": {"aws:username": "alice", "aws:RequestedRegion": ["eu-west-1", "eu-central-1"]},
            "Bool": {"aws:SecureTransport": "true"}}}]})

    def ok(**keys: Any) -> bool:
        names = {"user": "aws:username", "region": "aws:RequestedRegion", "tls": "aws:SecureTransport"}
        ctx = RequestContext("s3:X", "*", None, {names[k]: v for k, v in keys.items()})
        return evaluate(policy, ctx).allowed

    assert ok(user="alice", region="eu-central-1", tls=True)
    assert not ok(user="alice", region="us-east-1", tls=True)
    assert not ok(user="bob", region="eu-west-1", tls=True)
    assert not ok(user="alice", region="eu-west-1", tls=False)


@pytest.mark.parametrize(("op", "values", "msg"), [
    ("StringEqualz", "a", "'StringEqualz' is not an IAM condition operator"),
    ("NullIfExists", "true", "NullIfExists"),
    ("ForSomeValues:StringEquals", "a", "set qualifier"),
    ("NumericLessThan", "an hour", "not a number"),
    ("NumericLessThan", "nan", "not a number"),
    ("DateLessThan", "yesterday", "ISO 8601"),
    ("Bool", "yes", "true or false"),
    ("Null", "maybe", "true or false"),
    ("IpAddress", "10.0.0.0/33", "CIDR"),
    ("BinaryEquals", "***", "base64"),
])
def test_bad_operators_and_values_name_statement_and_element(op: str, values: Any, msg: str) -> None:
    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "S1", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {op: {"k:k": values}}}]}
    with pytest.raises(MalformedPolicyError, match=msg) as e:
        parse_policy(doc, name="p.json")
    assert str(e.value).startswith("p.json: statement 'S1': Condition")
    assert e.value.policy == "p.json" and e.value.statement == "statement 'S1'"
    assert e.value.element is not None and e.value.element.startswith("Condition")


def test_unknown_key_is_absent_with_a_warning_never_an_error() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "Deny", "Effect": "Deny", "Action": "*", "Resource": "*",
         "Condition": {"StringNotEquals": {"ec2:Tenancy": "default"}}},
        {"Sid": "Allow", "Effect": "Allow", "Action": "*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:madeUpKey": "x"}}}]}, name="p")
    r = evaluate(policy, RequestContext.long_term_keys("ec2:RunInstances", "*", "alice"))
    # absent: StringNotEquals holds (the deny fires); StringEquals does not
    assert r.decision.value == "ExplicitDeny"
    assert r.missing_context_keys == ("ec2:Tenancy", "aws:madeUpKey")
    assert str(r.warnings[0]) == (
        "p:Deny: condition key ec2:Tenancy is not in the request context (treated as absent)")
    # a key the context models (MFA for long-term keys) is simply absent: no warning
    mfa = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}}]})
    r = evaluate(mfa, RequestContext.long_term_keys("ec2:RunInstances", "*", "alice"))
    assert r.allowed and r.warnings == ()


def test_uncomparable_context_value_is_a_warning() -> None:
    r = evaluate(parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*",
         "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}]}),
        RequestContext("s3:ListBucket", "*", None, {"s3:max-keys": "lots"}))
    assert not r.allowed and "not a Numeric value" in str(r.warnings[0])


def test_keys_aws_always_sets_warn_when_the_caller_left_them_out() -> None:
    p = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*",
         "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]})
    no_time = evaluate(p, RequestContext.long_term_keys("s3:GetObject", "*", "alice"))
    assert not no_time.allowed and no_time.missing_context_keys == ("aws:CurrentTime",)
    timed = evaluate(p, RequestContext.long_term_keys("s3:GetObject", "*", "alice", at=T0))
    assert timed.allowed and timed.warnings == ()
