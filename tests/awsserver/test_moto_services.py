"""Services behind the endpoint run on moto, authorised by tokensim: each protocol (JSON, query,
REST-JSON, CBOR) resolved to its IAM action from botocore's model, denied in its own error shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Aws, error_of

CASES: list[tuple[str, str, str, Callable[[Any], Any]]] = [
    ("dynamodb", "dynamodb:ListTables", "AccessDeniedException", lambda c: c.list_tables()),
    ("sqs", "sqs:ListQueues", "AccessDeniedException", lambda c: c.list_queues()),
    ("sns", "sns:ListTopics", "AccessDenied", lambda c: c.list_topics()),
    ("lambda", "lambda:ListFunctions", "AccessDeniedException", lambda c: c.list_functions()),
    ("kms", "kms:ListKeys", "AccessDeniedException", lambda c: c.list_keys()),
    ("secretsmanager", "secretsmanager:ListSecrets", "AccessDeniedException", lambda c: c.list_secrets()),
    ("logs", "logs:DescribeLogGroups", "AccessDeniedException", lambda c: c.describe_log_groups()),
    ("cloudwatch", "monitoring:ListMetrics", "AccessDeniedException", lambda c: c.list_metrics()),
]


@pytest.mark.parametrize(("service", "action", "code", "call"), CASES, ids=[c[0] for c in CASES])
def test_moto_service_denied_then_allowed(aws: Aws, service: str, action: str, code: str,
                                          call: Callable[[Any], Any]) -> None:
    call(aws.client(service))  # the administrator: AdministratorAccess
    key, secret = aws.user("alice")
    client = aws.client(service, key, secret)
    got, msg, _ = error_of(lambda: call(client))
    assert got == code and f"is not authorized to perform: {action} " in msg
    aws.iam.put_user_policy(UserName="alice", PolicyName="one", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}))
    call(client)
