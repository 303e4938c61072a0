"""Properties of the evaluator that must hold for any action, order of statements and MFA context."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokens.policy import Decision, RequestContext, evaluate, parse_policy

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
