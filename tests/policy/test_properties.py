"""Properties of the evaluator that must hold for any action, order of statements and MFA context."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokens.policy import Decision, PolicyDocument, Principal, RequestContext, evaluate, parse_policy

names = st.text(alphabet=st.sampled_from("abcdefgXYZ"), min_size=1, max_size=6)
actions = st.builds(lambda s, a: f"{s}:{a}", st.sampled_from(["iam", "s3", "ec2", "sts"]), names)
contexts = st.one_of(
    st.builds(RequestContext.long_term_keys, actions),
    st.builds(RequestContext.session, actions),
    st.builds(lambda a, age: RequestContext.session(a, mfa_age=age), actions,
              st.floats(min_value=0, max_value=200_000, allow_nan=False)),
)


@given(ctx=contexts, target=actions)
def test_action_and_not_action_partition(ctx: RequestContext, target: str) -> None:
    yes = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": target, "Resource": "*"}]})
    no = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": target, "Resource": "*"}]})
    assert evaluate(yes, ctx).allowed != evaluate(no, ctx).allowed
    assert evaluate(yes, ctx).allowed == (ctx.action.lower() == target.lower())


@given(ctx=contexts, deny_first=st.booleans())
def test_explicit_deny_wins_in_any_order(ctx: RequestContext, deny_first: bool) -> None:
    allow = {"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"}
    deny = {"Sid": "D", "Effect": "Deny", "NotAction": "iam:EnableMFADevice", "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
    stmts = [deny, allow] if deny_first else [allow, deny]
    r = evaluate(parse_policy({"Version": "2012-10-17", "Statement": stmts}), ctx)
    mfa = ctx.mfa_present is True
    exempt = ctx.action.lower() == "iam:enablemfadevice"
    assert r.decision is (Decision.ALLOW if mfa or exempt else Decision.EXPLICIT_DENY)
    assert r.statement is not None and r.statement.sid == ("A" if r.allowed else "D")


@given(ctx=contexts, limit=st.integers(min_value=0, max_value=100_000))
def test_if_exists_equals_plain_operator_or_absent_key(ctx: RequestContext, limit: int) -> None:
    def allowed(op: str) -> bool:
        p = parse_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*",
             "Condition": {op: {"aws:MultiFactorAuthAge": str(limit)}}}]})
        return evaluate(p, ctx).allowed

    for op in ("NumericLessThan", "NumericGreaterThanEquals"):
        assert allowed(op + "IfExists") == (allowed(op) or ctx.mfa_age is None)
    if ctx.mfa_age is not None:
        assert allowed("NumericLessThan") != allowed("NumericGreaterThanEquals")


# --------------------------------------------------------------------------- across random policies

SERVICES = ["s3", "ec2", "iam"]
VERBS = ["Get", "Put", "List", "Describe"]
action_patterns = st.one_of(
    st.just("*"),
    st.builds(lambda s, v, star: f"{s}:{v}{'*' if star else 'Object'}", st.sampled_from(SERVICES),
              st.sampled_from(VERBS), st.booleans()),
    st.builds(lambda s: f"{s}:*", st.sampled_from(SERVICES)),
)
RESOURCES = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:iam::*:user/${aws:username}",
             "arn:aws:ec2:*:*:instance/*"]
CONDITIONS: list[dict[str, object]] = [
    {},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
    {"StringEquals": {"aws:username": ["alice", "bob"]}},
    {"StringNotLike": {"aws:username": "a*"}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["x", "y"]}},
    {"Null": {"aws:TokenIssueTime": "true"}},
]
statements = st.builds(
    lambda effect, key, acts, rkey, res, cond: {"Effect": effect, key: acts, rkey: res, "Condition": cond},
    st.sampled_from(["Allow", "Deny"]), st.sampled_from(["Action", "NotAction"]),
    st.lists(action_patterns, min_size=1, max_size=3), st.sampled_from(["Resource", "NotResource"]),
    st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2), st.sampled_from(CONDITIONS))
policies = st.lists(st.lists(statements, min_size=1, max_size=4), min_size=0, max_size=3)
requests = st.builds(
    lambda s, v, res, user, age, ip, tags: RequestContext.for_principal(
        f"{s}:{v}Object", res, Principal.user(user), mfa_present=None if age is None else True, mfa_age=age,
        source_ip=ip, extra={"aws:TagKeys": tags} if tags is not None else None),
    st.sampled_from(SERVICES), st.sampled_from(VERBS),
    st.sampled_from(["*", "arn:aws:s3:::b/k", "arn:aws:iam::123456789012:user/alice",
                     "arn:aws:ec2:us-east-1:123456789012:instance/i-1"]),
    st.sampled_from(["alice", "bob", "carol"]), st.one_of(st.none(), st.integers(0, 7200)),
    st.sampled_from(["203.0.113.7", "198.51.100.1"]), st.one_of(st.none(), st.lists(st.sampled_from("xyz"))))


def _docs(raw: list[list[dict[str, object]]]) -> list[PolicyDocument]:
    return [parse_policy({"Version": "2012-10-17", "Statement": [{k: v for k, v in s.items() if v != {}}
                                                                   for s in stmts]}, name=f"p{i}")
            for i, stmts in enumerate(raw)]


@given(raw=policies, ctx=requests)
def test_an_unconditional_deny_always_wins(raw: list[list[dict[str, object]]], ctx: RequestContext) -> None:
    deny = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}]}, name="deny")
    r = evaluate([*_docs(raw), deny], ctx)
    assert r.decision is Decision.EXPLICIT_DENY and "deny:DenyAll" in [m.label for m in r.deciding]


@given(raw=policies, extra=statements, ctx=requests)
def test_adding_an_allow_never_denies_and_adding_a_deny_never_allows(
        raw: list[list[dict[str, object]]], extra: dict[str, object], ctx: RequestContext) -> None:
    base = evaluate(_docs(raw), ctx)
    more = evaluate(_docs([*raw, [{**extra, "Effect": "Allow"}]]), ctx)
    if base.allowed:
        assert more.allowed
    if base.decision is Decision.EXPLICIT_DENY:
        assert more.decision is Decision.EXPLICIT_DENY
    less = evaluate(_docs([*raw, [{**extra, "Effect": "Deny"}]]), ctx)
    if not base.allowed:
        assert not less.allowed


@given(raw=policies, ctx=requests, data=st.data())
def test_order_of_policies_and_statements_does_not_change_the_decision(
        raw: list[list[dict[str, object]]], ctx: RequestContext, data: st.DataObject) -> None:
    shuffled = [data.draw(st.permutations(stmts)) for stmts in data.draw(st.permutations(raw))]
    assert evaluate(_docs(raw), ctx).decision is evaluate(_docs(shuffled), ctx).decision


PAIRS = [("StringEquals", "StringNotEquals", "alice"), ("StringLike", "StringNotLike", "a*"),
         ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "ALICE"),
         ("NumericEquals", "NumericNotEquals", "42"), ("DateEquals", "DateNotEquals", "2026-01-01T00:00:00Z"),
         ("IpAddress", "NotIpAddress", "203.0.113.0/24"),
         ("ArnLike", "ArnNotLike", "arn:aws:iam::*:user/a*"), ("ArnEquals", "ArnNotEquals", "arn:aws:s3:::b")]
VALUES = {"String": st.sampled_from(["alice", "Alice", "bob", "a"]),
          "Numeric": st.integers(40, 44).map(str),
          "Date": st.sampled_from(["2026-01-01T00:00:00Z", "2025-01-01"]),
          "IpAddress": st.sampled_from(["203.0.113.9", "198.51.100.1", "2001:db8::1"]),
          "Arn": st.sampled_from(["arn:aws:iam::1:user/alice", "arn:aws:s3:::b", "arn:aws:iam::1:user/bob"])}


def _holds(op: str, policy_value: str, keys: dict[str, object]) -> bool:
    p = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {op: {"k:k": policy_value}}}]})
    return evaluate(p, RequestContext("s3:GetObject", "*", None, keys)).allowed  # type: ignore[arg-type]


@given(pair=st.sampled_from(PAIRS), data=st.data())
def test_negated_operators_complement_and_if_exists_only_changes_absent_keys(
        pair: tuple[str, str, str], data: st.DataObject) -> None:
    pos, neg, policy_value = pair
    family = next(f for f in VALUES if pos.startswith(f))
    value = data.draw(VALUES[family])
    keys = {"k:k": value}
    assert _holds(pos, policy_value, keys) != _holds(neg, policy_value, keys)
    for op in (pos, neg):
        assert _holds(op + "IfExists", policy_value, keys) == _holds(op, policy_value, keys)
        assert _holds(op + "IfExists", policy_value, {})
    assert not _holds(pos, policy_value, {}) and _holds(neg, policy_value, {})


@given(values=st.lists(st.sampled_from("abcd"), min_size=1), policy_values=st.lists(st.sampled_from("abc"),
                                                                                   min_size=1, max_size=3))
def test_set_qualifier_duality(values: list[str], policy_values: list[str]) -> None:
    def holds(op: str) -> bool:
        p = parse_policy({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*",
             "Condition": {op: {"aws:TagKeys": policy_values}}}]})
        return evaluate(p, RequestContext("s3:X", "*", None, {"aws:TagKeys": values})).allowed

    assert holds("ForAllValues:StringNotEquals") == (not holds("ForAnyValue:StringEquals"))
    assert holds("ForAnyValue:StringNotEquals") == (not holds("ForAllValues:StringEquals"))
    assert holds("ForAllValues:StringEquals") == (set(values) <= set(policy_values))
    assert holds("ForAnyValue:StringEquals") == bool(set(values) & set(policy_values))
