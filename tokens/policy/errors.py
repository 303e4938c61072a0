"""Errors of the policy layer.

    TokensimError
    └── InputError (ValueError)
        └── PolicyError                     anything the policy layer refuses
            ├── MalformedPolicyError        the document is not JSON or not a valid IAM policy; names
            │                               the policy, the statement and the element (a server maps it
            │                               to AWS's MalformedPolicyDocument)
            ├── PolicyKindError             a valid document used where it cannot go: Principal in an
            │                               identity policy, no Principal in a resource policy
            ├── ContextError                a request context value of the wrong type, a bad KEY=VALUE
            └── ManagedPolicyError          an AWS managed policy that cannot be found
                └── ManagedPolicyDataError  the managed-policy data (moto, the ``aws`` extra) is missing

Nothing is raised for a condition key the evaluator cannot know: such a key is absent (the AWS
rule) and the :class:`~tokens.policy.evaluate.Result` carries a warning.
"""

from __future__ import annotations

from ..errors import InputError


class PolicyError(InputError):
    """A policy document, request context or managed-policy name that the policy layer refuses."""


class MalformedPolicyError(PolicyError):
    """Not JSON, or not a valid IAM policy.  ``policy``, ``statement`` and ``element`` say where."""

    def __init__(self, message: str, *, policy: str | None = None, statement: str | None = None,
                 element: str | None = None) -> None:
        where = ": ".join(x for x in (policy, statement) if x)
        super().__init__(f"{where}: {message}" if where else message)
        self.policy = policy
        self.statement = statement
        self.element = element
        self.reason = message


class PolicyKindError(MalformedPolicyError):
    """A document used as the wrong kind of policy (identity vs resource-based)."""


class ContextError(PolicyError):
    """A request context that cannot be built (wrong value type, bad ``KEY=VALUE``)."""


class ManagedPolicyError(PolicyError):
    """No AWS managed policy by that name or ARN."""


class ManagedPolicyDataError(ManagedPolicyError):
    """The AWS managed policy data is not installed (it comes with the ``aws`` extra)."""
