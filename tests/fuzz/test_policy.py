"""Adversarial input for the IAM policy layer: arbitrary JSON and text → a PolicyError or a result.

Never an uncaught exception, never a hang: documents that parse are evaluated against arbitrary
request contexts and must give a Decision."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._settings import FUZZ
from tokens.policy import Decision, PolicyError, RequestContext, evaluate, parse_policy, parse_policy_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=20)

ELEMENT_NAMES = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal",
                 "NotPrincipal", "Condition"]
OPERATOR_NAMES = ["StringEquals", "StringLike", "NumericLessThan", "DateGreaterThan", "Bool", "BinaryEquals",
                  "IpAddress", "NotIpAddress", "ArnLike", "Null", "BoolIfExists", "ForAllValues:StringEquals",
                  "ForAnyValue:StringNotLike", "NullIfExists", "Bogus"]
pieces = st.sampled_from(["*", "?", "${aws:username}", "${*}", "${", "}", ":", "/", "arn:aws:s3:::", "a",
                          "Z", "${aws:x, 'd'}", "${aws:TagKeys}", "10.0.0.0/8", "::1", "2026-01-01", "true",
                          "123"])
texty = st.lists(pieces, max_size=6).map("".join)
leaf = texty | st.integers(-5, 5) | st.booleans() | st.floats(allow_nan=False, allow_infinity=True)
conditions = st.dictionaries(st.sampled_from(OPERATOR_NAMES) | st.text(max_size=8),
                             st.dictionaries(st.sampled_from(["aws:username", "aws:SourceIp", "aws:TagKeys",
                                                              "aws:CurrentTime", "x:y"]) | texty,
                                             leaf | st.lists(leaf, max_size=3), max_size=3), max_size=3)
element_values = st.one_of(texty, st.lists(texty, max_size=3), st.sampled_from(["Allow", "Deny"]), conditions,
                           st.dictionaries(st.sampled_from(["AWS", "Service", "Federated", "X"]),
                                           texty | st.lists(texty, max_size=2), max_size=2), json_values)
statement = st.dictionaries(st.sampled_from(ELEMENT_NAMES), element_values, max_size=8)
documents = st.fixed_dictionaries(
    {"Statement": st.lists(statement, max_size=4) | statement},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17", "x"]), "Id": texty})
contexts = st.builds(
    lambda a, r, keys: RequestContext(a or "s3:x", r or "*", None, keys),
    texty, texty, st.dictionaries(st.sampled_from(["aws:username", "aws:SourceIp", "aws:TagKeys",
                                                   "aws:CurrentTime", "x:y", "aws:MultiFactorAuthAge"]),
                                  st.one_of(texty, st.booleans(), st.integers(), st.lists(texty, max_size=3)),
                                  max_size=4))


def _decide(doc: Any, ctx: RequestContext) -> None:
    try:
        p = parse_policy(doc)
    except PolicyError as e:
        assert str(e)
        return
    try:
        r = evaluate([], ctx, resource_policy=p) if p.names_principals else evaluate(p, ctx)
    except PolicyError as e:  # a resource policy with a statement lacking Principal
        assert str(e)
        return
    assert r.decision in Decision
    r.explain()
    json.dumps(r.to_dict())


@FUZZ
@given(doc=json_values, ctx=contexts)
def test_arbitrary_json_is_an_error_or_a_decision(doc: Any, ctx: RequestContext) -> None:
    _decide(doc, ctx)


@FUZZ
@given(doc=documents, ctx=contexts)
def test_policy_shaped_documents_are_an_error_or_a_decision(doc: Any, ctx: RequestContext) -> None:
    _decide(doc, ctx)


@FUZZ
@given(text=st.text(max_size=200) | st.binary(max_size=200))
def test_arbitrary_text_is_an_error_or_a_document(text: str | bytes) -> None:
    try:
        parse_policy_json(text)
    except PolicyError as e:
        assert str(e)


def test_deeply_nested_json_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="JSON"):
        parse_policy_json("[" * 100_000 + "]" * 100_000)
