"""The evaluation logic across policy kinds: explicit deny, resource-based and trust policies,
principals (account, ARN, *, Service, Federated, NotPrincipal), permissions boundaries, session
policies, the root user, and what a Result reports."""

from __future__ import annotations

from typing import Any

import pytest

from tokens.policy import (
    Decision,
    Evaluator,
    MalformedPolicyError,
    PolicyKind,
    PolicyKindError,
    Principal,
    RequestContext,
    evaluate,
    parse_policy,
)

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Admin"
BUCKET = "arn:aws:s3:::reports"
OBJECT = "arn:aws:s3:::reports/2026/q1.csv"


def doc(*statements: dict[str, Any], name: str = "p") -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name)


ALLOW_S3 = doc({"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}, name="identity")
NOTHING = doc({"Effect": "Allow", "Action": "sqs:Nothing", "Resource": "*"}, name="none")


def bucket_policy(principal: Any, effect: str = "Allow", key: str = "Principal", **extra: Any) -> Any:
    return doc({"Sid": "B", "Effect": effect, key: principal, "Action": "s3:GetObject",
                "Resource": f"{BUCKET}/*", **extra}, name="bucket")


def alice(action: str = "s3:GetObject", resource: str = OBJECT, **kw: Any) -> RequestContext:
    return RequestContext.long_term_keys(action, resource, "alice", **kw)


# --------------------------------------------------------------------------- resource-based policies


@pytest.mark.parametrize(("principal", "identity", "decision", "kind"), [
    ({"AWS": ALICE}, NOTHING, Decision.ALLOW, PolicyKind.RESOURCE),          # names the user: enough
    ("*", NOTHING, Decision.ALLOW, PolicyKind.RESOURCE),
    ({"AWS": "*"}, NOTHING, Decision.ALLOW, PolicyKind.RESOURCE),
    ({"AWS": ACCOUNT}, NOTHING, Decision.IMPLICIT_DENY, PolicyKind.IDENTITY),  # account: delegates
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, NOTHING, Decision.IMPLICIT_DENY, PolicyKind.IDENTITY),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ALLOW_S3, Decision.ALLOW, PolicyKind.IDENTITY),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, NOTHING, Decision.IMPLICIT_DENY, PolicyKind.IDENTITY),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}, ALLOW_S3, Decision.ALLOW, PolicyKind.IDENTITY),
    ({"Service": "cloudtrail.amazonaws.com"}, NOTHING, Decision.IMPLICIT_DENY, PolicyKind.IDENTITY),
])
def test_same_account_resource_policy(principal: Any, identity: Any, decision: Decision,
                                      kind: PolicyKind) -> None:
    r = evaluate(identity, alice(), resource_policy=bucket_policy(principal))
    assert (r.decision, r.kind) == (decision, kind)


def test_resource_policy_deny_beats_identity_allow_and_names_its_kind() -> None:
    no_mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    deny = bucket_policy("*", effect="Deny", Condition=no_mfa)
    r = evaluate(ALLOW_S3, alice(), resource_policy=deny)
    assert r.decision is Decision.EXPLICIT_DENY and r.kind is PolicyKind.RESOURCE
    assert r.reason == "with an explicit deny in a resource-based policy"
    assert r.access_denied_message() == (
        f"User: {ALICE} is not authorized to perform: s3:GetObject on resource: {OBJECT} "
        "with an explicit deny in a resource-based policy")
    mfa = RequestContext.mfa_session("s3:GetObject", OBJECT, "alice", age=30)
    assert evaluate(ALLOW_S3, mfa, resource_policy=deny).allowed


def test_not_principal_needs_the_user_and_its_account_to_exempt_it() -> None:
    both = bucket_policy({"AWS": [ALICE, f"arn:aws:iam::{ACCOUNT}:root"]}, effect="Deny", key="NotPrincipal")
    only_user = bucket_policy({"AWS": ALICE}, effect="Deny", key="NotPrincipal")
    assert evaluate(ALLOW_S3, alice(), resource_policy=both).allowed
    r = evaluate(ALLOW_S3, alice(), resource_policy=only_user)
    assert r.decision is Decision.EXPLICIT_DENY  # AWS: the account is not exempted, so the deny applies
    bob = RequestContext.long_term_keys("s3:GetObject", OBJECT, "bob")
    assert evaluate(ALLOW_S3, bob, resource_policy=both).decision is Decision.EXPLICIT_DENY
    # a role session is exempted by its session ARN (not the role ARN) plus the account
    session = RequestContext.role_session("s3:GetObject", OBJECT, role="Admin", session_name="s1")
    by_role = bucket_policy({"AWS": [ROLE, ACCOUNT]}, effect="Deny", key="NotPrincipal")
    by_session = bucket_policy({"AWS": [f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/s1", ACCOUNT]},
                               effect="Deny", key="NotPrincipal")
    assert evaluate(ALLOW_S3, session, resource_policy=by_role).decision is Decision.EXPLICIT_DENY
    assert evaluate(ALLOW_S3, session, resource_policy=by_session).allowed


def test_role_session_named_by_role_arn_still_needs_boundary() -> None:
    session = RequestContext.role_session("s3:GetObject", OBJECT, role="Admin", session_name="s1")
    rp = bucket_policy({"AWS": ROLE})
    assert evaluate(NOTHING, session, resource_policy=rp).allowed  # no boundary: the role ARN grant allows
    boundary = doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}, name="boundary")
    r = evaluate(NOTHING, session, resource_policy=rp, permissions_boundary=boundary)
    assert r.decision is Decision.IMPLICIT_DENY and r.kind is PolicyKind.BOUNDARY
    # naming the session itself is not limited by the boundary
    rs = bucket_policy({"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/s1"})
    assert evaluate(NOTHING, session, resource_policy=rs, permissions_boundary=boundary).allowed


# --------------------------------------------------------------------------- trust policies


TRUST_MFA = doc({"Sid": "TrustAliceWithMFA", "Effect": "Allow", "Principal": {"AWS": ALICE},
                 "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
                name="trust")
TRUST_ACCOUNT = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"},
                    name="trust")
ASSUME = doc({"Sid": "Assume", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE}, name="id")


def test_trust_policy_with_mfa_condition() -> None:
    keys = RequestContext.long_term_keys("sts:AssumeRole", ROLE, "alice")
    mfa = RequestContext.mfa_session("sts:AssumeRole", ROLE, "alice", age=10)
    r = evaluate([], keys, trust_policy=TRUST_MFA)
    assert r.decision is Decision.IMPLICIT_DENY and r.kind is PolicyKind.RESOURCE
    assert r.reason == "because no resource-based policy allows the sts:AssumeRole action"
    r = evaluate([], mfa, trust_policy=TRUST_MFA)
    assert r.allowed and r.kind is PolicyKind.RESOURCE and r.statement is not None
    assert r.statement.sid == "TrustAliceWithMFA"


def test_trust_policy_is_required_even_when_the_identity_policy_allows() -> None:
    bob = RequestContext.mfa_session("sts:AssumeRole", ROLE, "bob", age=10)
    r = evaluate(ASSUME, bob, trust_policy=TRUST_MFA)
    assert r.decision is Decision.IMPLICIT_DENY and r.kind is PolicyKind.RESOURCE


def test_trust_policy_naming_the_account_needs_an_identity_allow() -> None:
    ctx = RequestContext.long_term_keys("sts:AssumeRole", ROLE, "alice")
    assert evaluate([], ctx, trust_policy=TRUST_ACCOUNT).decision is Decision.IMPLICIT_DENY
    r = evaluate(ASSUME, ctx, trust_policy=TRUST_ACCOUNT)
    assert r.allowed and r.kind is PolicyKind.IDENTITY
    assert r.statement is not None and r.statement.sid == "Assume"


def test_service_and_federated_principals() -> None:
    trust = doc({"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "Lambda.amazonaws.com"]},
                 "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"Federated": "accounts.google.com"},
                 "Action": "sts:AssumeRoleWithWebIdentity"})
    ec2 = RequestContext("sts:AssumeRole", ROLE, Principal.service("ec2.amazonaws.com"))
    lam = RequestContext("sts:AssumeRole", ROLE, Principal.service("lambda.amazonaws.com"))
    s3 = RequestContext("sts:AssumeRole", ROLE, Principal.service("s3.amazonaws.com"))
    web = RequestContext("sts:AssumeRoleWithWebIdentity", ROLE, Principal.web_identity("accounts.google.com"))
    assert evaluate([], ec2, trust_policy=trust).allowed
    assert evaluate([], lam, trust_policy=trust).allowed
    assert not evaluate([], s3, trust_policy=trust).allowed
    assert evaluate([], web, trust_policy=trust).allowed


# --------------------------------------------------------------------------- boundary, session, root


def test_permissions_boundary_and_session_policy_intersect_identity() -> None:
    admin = doc({"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}, name="admin")
    boundary = doc({"Effect": "Allow", "Action": ["s3:*", "ec2:Describe*"], "Resource": "*"}, name="boundary")
    session = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, name="session")
    ev = Evaluator([admin], permissions_boundary=boundary, session_policies=[session])

    def run(action: str) -> tuple[Decision, PolicyKind | None]:
        r = ev.evaluate(RequestContext.role_session(action, "*", role="Admin"))
        return r.decision, r.kind

    assert run("s3:GetObject") == (Decision.ALLOW, PolicyKind.IDENTITY)
    assert run("s3:PutObject") == (Decision.IMPLICIT_DENY, PolicyKind.SESSION)
    assert run("iam:CreateUser") == (Decision.IMPLICIT_DENY, PolicyKind.BOUNDARY)
    deny_boundary = doc({"Effect": "Allow", "Action": "*", "Resource": "*"},
                        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}, name="b2")
    r = Evaluator([admin], permissions_boundary=deny_boundary).evaluate(alice())
    assert r.decision is Decision.EXPLICIT_DENY and r.kind is PolicyKind.BOUNDARY
    assert r.reason == "with an explicit deny in a permissions boundary"


def test_root_needs_no_identity_policy_but_a_deny_still_applies() -> None:
    root = RequestContext.root("s3:GetObject", OBJECT)
    r = evaluate([], root)
    assert r.allowed and r.deciding == () and "root" in r.reason
    assert evaluate([], root, resource_policy=bucket_policy({"AWS": ACCOUNT})).allowed
    deny = bucket_policy("*", effect="Deny")
    assert evaluate([], root, resource_policy=deny).decision is Decision.EXPLICIT_DENY


def test_no_policy_at_all_is_an_implicit_deny() -> None:
    r = evaluate([], alice())
    assert r.decision is Decision.IMPLICIT_DENY and r.kind is PolicyKind.IDENTITY
    assert r.summary() == "implicit deny: because no identity-based policy allows the s3:GetObject action"


# --------------------------------------------------------------------------- statements


def test_force_mfa_notaction_deny() -> None:
    """The IAM tutorial's pattern: Deny + NotAction + BoolIfExists: long-term keys and non-MFA sessions
    are denied everything except the listed enrollment actions; an MFA session is not."""
    p = doc({"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "BlockMostAccessUnlessSignedInWithMFA", "Effect": "Deny",
             "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:List*",
                           "sts:GetSessionToken"],
             "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    for ctx in (alice("ec2:RunInstances", "*"), RequestContext.session("ec2:RunInstances", "*", "alice")):
        r = evaluate(p, ctx)
        assert r.decision is Decision.EXPLICIT_DENY and r.statement is not None
        assert r.statement.sid == "BlockMostAccessUnlessSignedInWithMFA"
    assert evaluate(p, alice("IAM:listmfadevices", ALICE)).allowed  # NotAction matches case-insensitively
    assert evaluate(p, RequestContext.mfa_session("ec2:RunInstances", "*", "alice", age=5)).allowed


@pytest.mark.parametrize(("pattern", "resource", "hit"), [
    ("arn:aws:iam::*:user/${aws:username}", ALICE, True),
    ("arn:aws:iam::*:user/${aws:username}", f"arn:aws:iam::{ACCOUNT}:user/alice2", False),
    ("arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}", ALICE, True),
    ("arn:aws:iam::${aws:PrincipalAccount}:user/*", "arn:aws:iam::999999999999:user/alice", False),
    ("arn:aws:s3:::reports/${aws:userid}/*", "arn:aws:s3:::reports/AIDAEXAMPLE/x", True),
    ("arn:aws:s3:::*", ALICE, False),  # the service segment
    ("arn:aws:s3:::reports/*", OBJECT, True),
    ("arn:aws:s3:::Reports/*", OBJECT, False),  # case-sensitive
    ("arn:aws:iam::*:user/*", f"arn:aws:iam::{ACCOUNT}:user/division/alice", True),
])
def test_resource_patterns(pattern: str, resource: str, hit: bool) -> None:
    p = doc({"Effect": "Allow", "Action": "*", "Resource": pattern})
    ctx = RequestContext.long_term_keys("s3:GetObject", resource, "alice", user_id="AIDAEXAMPLE")
    assert evaluate(p, ctx).allowed is hit


def test_result_lists_deciding_and_other_statements() -> None:
    ident = doc({"Sid": "A1", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Sid": "A2", "Effect": "Allow", "Action": "*", "Resource": "*"}, name="allow.json")
    r = evaluate(ident, alice())
    assert [m.label for m in r.deciding] == ["allow.json:A1", "allow.json:A2"]
    assert r.statement is not None and r.statement.sid == "A1" and r.policy == "allow.json"
    text = r.explain()
    assert "s3:GetObject on arn:aws:s3:::reports/2026/q1.csv: allowed" in text
    assert "Allow allow.json:A1  (identity-based policy)" in text
    d = r.to_dict()
    assert d["decision"] == "Allow" and d["eval_decision"] == "allowed" and d["kind"] == "identity"
    assert [m["sid"] for m in d["deciding"]] == ["A1", "A2"]


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize(("raw", "msg"), [
    ([1, 2], "not an IAM policy"),
    ({"Version": "2012-10-17"}, "not an IAM policy"),
    ({"Version": "2020-01-01", "Statement": []}, "Version: unknown policy Version"),
    ({"Statement": [], "Extra": 1}, "Extra: unknown top-level element"),
    ({"Statement": []}, "no statements"),
    ({"Statement": [{"Sid": "X", "Effect": "Maybe", "Action": "*", "Resource": "*"}]},
     "statement 'X': Effect"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "*", "Resource": "*"}]},
     r"Statement\[0\]: Action: needs exactly one"),
    ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, "Resource: needs exactly one"),
    ({"Statement": [{"Effect": "Allow", "Action": "ListUsers", "Resource": "*"}]}, "service:action"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "bucket"}]}, "not an ARN"),
    ({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}, "empty"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": []}]}, "Condition"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Actions": "*"}]}, "unknown element"),
    ({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Sid": "A", "Effect": "Deny", "Action": "*", "Resource": "*"}]}, "duplicate Sid"),
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:user/*"}, "Action": "*"}]},
     "wildcards are not allowed"),
    ({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "alice"}, "Action": "*"}]}, "invalid principal"),
    ({"Statement": [{"Effect": "Allow", "Principal": {"Robot": "x"}, "Action": "*"}]},
     "unknown principal type"),
    ({"Statement": [{"Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "*"}]}, "not both"),
])
def test_malformed_documents_name_element_and_statement(raw: object, msg: str) -> None:
    with pytest.raises(MalformedPolicyError, match=msg):
        parse_policy(raw, name="p.json")


def test_policy_kinds_are_checked_when_used() -> None:
    trust = doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, name="trust")
    msg = r"trust: statement 'Statement\[0\]': Principal: an identity-based policy cannot"
    with pytest.raises(PolicyKindError, match=msg):
        Evaluator([trust])
    with pytest.raises(PolicyKindError, match="names a Principal"):
        Evaluator([], resource_policy=ALLOW_S3)
    with pytest.raises(PolicyKindError, match="not both"):
        Evaluator([], resource_policy=trust, trust_policy=trust)
    with pytest.raises(PolicyKindError, match="permissions boundary"):
        Evaluator([], permissions_boundary=trust)


def test_validate_helpers_for_create_policy_and_bucket_policies() -> None:
    from tokens.policy import validate_identity_policy, validate_resource_policy

    assert validate_identity_policy(ALLOW_S3) is ALLOW_S3
    assert validate_resource_policy(TRUST_ACCOUNT) is TRUST_ACCOUNT
    with pytest.raises(PolicyKindError, match="cannot name a principal"):
        validate_identity_policy(TRUST_ACCOUNT)
    with pytest.raises(PolicyKindError, match="names a Principal"):
        validate_resource_policy(ALLOW_S3)


def test_deleted_principal_unique_id_is_kept_and_never_matches() -> None:
    trust = doc({"Effect": "Allow", "Principal": {"AWS": ["AROADBQP57FF2AEXAMPLE", ALICE]},
                 "Action": "sts:AssumeRole"}, name="trust")
    assert trust.statements[0].principal is not None
    assert trust.statements[0].principal.aws == ("AROADBQP57FF2AEXAMPLE", ALICE)
    bob = RequestContext.long_term_keys("sts:AssumeRole", ROLE, "bob")
    assert not evaluate([], bob, trust_policy=trust).allowed
    alice_ctx = RequestContext.long_term_keys("sts:AssumeRole", ROLE, "alice")
    assert evaluate([], alice_ctx, trust_policy=trust).allowed
