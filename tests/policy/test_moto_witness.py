"""moto's ``access_control`` as an independent witness, on the subset it models.

moto evaluates Action/NotAction and Resource wildcards, deny precedence and ``StringEquals``; it treats
a failing condition as a deny and ignores every other operator, so it can only witness policies whose
conditions are StringEquals on keys the request carries.  Within that subset: whenever moto permits,
tokensim allows; and when every condition holds, both agree exactly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokens.policy import RequestContext, evaluate, parse_policy

access_control = pytest.importorskip("moto.iam.access_control")

ACTIONS = ["s3:getobject", "s3:putobject", "s3:listbucket", "iam:getuser", "ec2:runinstances"]
ACTION_PATTERNS = ["*", "s3:*", "s3:get*", "s3:*object", "iam:get*", "ec2:*", *ACTIONS]
RESOURCE_PATTERNS = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:s3:::*",
                     "arn:aws:iam::*:user/alice"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::c/k", "arn:aws:iam::123456789012:user/alice",
             "arn:aws:iam::123456789012:user/bob"]
KEYS = {"aws:username": ["alice", "bob"], "aws:RequestedRegion": ["eu-west-1", "us-east-1"]}

conditions = st.one_of(st.none(), st.builds(
    lambda key, values: {"StringEquals": {key: values}},
    st.sampled_from(sorted(KEYS)), st.lists(st.sampled_from(["alice", "bob", "eu-west-1", "us-east-1"]),
                                            min_size=1, max_size=2)))
statements = st.builds(
    lambda effect, akey, actions, resources, cond: {
        "Effect": effect, akey: actions, "Resource": resources, **({"Condition": cond} if cond else {})},
    st.sampled_from(["Allow", "Deny"]), st.sampled_from(["Action", "NotAction"]),
    st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2),
    st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2), conditions)


def _conditions_hold(doc: dict[str, Any], keys: dict[str, str]) -> bool:
    return all(keys[k] in v for s in doc["Statement"] for op in s.get("Condition", {}).values()
               for k, v in op.items())


@given(stmts=st.lists(statements, min_size=1, max_size=4), action=st.sampled_from(ACTIONS),
       resource=st.sampled_from(RESOURCES), user=st.sampled_from(["alice", "bob"]),
       region=st.sampled_from(["eu-west-1", "us-east-1"]))
def test_moto_access_control_agrees_on_its_subset(stmts: list[dict[str, Any]], action: str, resource: str,
                                                   user: str, region: str) -> None:
    doc = {"Version": "2012-10-17", "Statement": stmts}
    keys = {"aws:username": user, "aws:RequestedRegion": region}
    moto = access_control.IAMPolicy(json.dumps(doc)).is_action_permitted(
        action, resource, incoming_condition_values=keys)
    ours = evaluate(parse_policy(doc), RequestContext(action, resource, None, keys))
    moto_permits = moto == access_control.PermissionResult.PERMITTED
    if moto_permits:
        assert ours.allowed
    if _conditions_hold(doc, keys):
        assert ours.allowed == moto_permits
