"""Errors of the policy layer.

    TokensimError
    └── PolicyError (InputError)       the document is not JSON, not an IAM policy, or uses
                                        something this evaluator does not model
"""

from __future__ import annotations

from ..errors import InputError


class PolicyError(InputError):
    """A policy document that cannot be evaluated."""
