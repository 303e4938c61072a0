"""IAM policy evaluation scoped to MFA enforcement, and the enrollment lock-out check.

    from tokens.policy import load_policy, evaluate, RequestContext
    result = evaluate(load_policy("enforce-mfa.json"),
                      RequestContext.long_term_keys("s3:ListAllMyBuckets", "*", "alice"))
    result.decision, result.explain()

See :mod:`tokens.policy.evaluate` for exactly what is (and is not) modelled.
"""

from __future__ import annotations

from .document import Condition, Effect, Policy, Statement, load_policy, parse_policy
from .enrollment import Report, Target, check_enrollment
from .errors import PolicyError
from .evaluate import Decision, Evaluator, RequestContext, Result, evaluate

__all__ = ["Condition", "Decision", "Effect", "Evaluator", "Policy", "PolicyError", "Report",
           "RequestContext", "Result", "Statement", "Target", "check_enrollment", "evaluate",
           "load_policy", "parse_policy"]
