"""IAM policy language: parse documents, evaluate requests as IAM does, check MFA enrollment.

    from tokens.policy import RequestContext, evaluate, load_policy, managed_policy
    force_mfa = load_policy("force-mfa.json")
    ec2 = managed_policy("AmazonEC2FullAccess")
    result = evaluate([force_mfa, ec2], RequestContext.long_term_keys("ec2:RunInstances", "*", "alice"))
    result.decision          # Decision.EXPLICIT_DENY
    print(result.explain())  # deciding statement, policy kind, warnings

Public API (stable; the AWS endpoint in :mod:`tokens.awsserver` builds on it)

Documents (:mod:`.document`, :mod:`.managed`)
    parse_policy(doc: Any, name="policy") -> PolicyDocument          decoded JSON
    parse_policy_json(text: str | bytes, name="policy") -> PolicyDocument
    load_policy(path) -> PolicyDocument
    managed_policy(name_or_arn: str) -> PolicyDocument              AWS managed (needs the ``aws`` extra)
    managed_policy_info(name_or_arn) -> ManagedPolicyInfo           .arn .path .default_version .document
    resolve_policy(ref: str) -> PolicyDocument                      a file, else a managed name/ARN
    PolicyDocument(name, version, statements, id)                   .condition_keys .names_principals
    Statement(index, sid, effect, actions, not_action, resources, not_resource, conditions,
              principal, not_principal)                             .label (Sid or Statement[i])
    Condition(operator, key, values), PrincipalSpec, Effect

Requests (:mod:`.context`)
    RequestContext(action, resource="*", principal: Principal | None = None, keys: Mapping = {})
        keys: str | bool | int | float | datetime | list[str]; absent = not in the map.  Time keys
        (aws:CurrentTime / aws:EpochTime) only when ``at=`` is given; aws:SecureTransport defaults
        to true and aws:ViaAWSService to false (a direct call).
        .long_term_keys(action, resource="*", username=None, *, account=..., **kw)
        .session(action, resource="*", username=None, mfa_age=None, ...)   MFA present iff mfa_age
        .mfa_session(action, resource="*", username=None, age=0.0, ...)
        .role_session(action, resource="*", *, role, session_name="session", account=..., mfa_age=None)
        .root(action, resource="*", *, account=...)
        .for_principal(action, resource, principal, *, user_id, session_name, mfa_present, mfa_age,
                       at, source_ip, region, secure_transport=True, via_aws_service=False, extra)
        .with_keys({key: value | None}) .with_request(action, resource) .get(key)
        .username .mfa_present .mfa_age
    ContextKeys (case-insensitive immutable mapping; values str | bool | int | float | datetime |
                 tuple[str, ...]), Principal (.user .root .role_session .service .from_arn ...)

Evaluation (:mod:`.evaluate`)
    Evaluator(identity=(), resource_policy=None, trust_policy=None, permissions_boundary=None,
              session_policies=()).evaluate(ctx) -> Result
    evaluate(identity, ctx, *, resource_policy=None, trust_policy=None, permissions_boundary=None,
             session_policies=()) -> Result
    validate_identity_policy(doc) / validate_resource_policy(doc) -> doc    PolicyKindError otherwise
    Result: .decision (Decision.ALLOW / EXPLICIT_DENY / IMPLICIT_DENY; .aws_name "allowed" ...)
            .allowed .kind (PolicyKind IDENTITY / RESOURCE / BOUNDARY / SESSION) .deciding .matched
            (Match: policy, kind, statement, via) .statement .policy .warnings (EvalWarning)
            .missing_context_keys .reason .access_denied_message(caller_arn) .summary() .explain()
            .to_dict()

Enrollment lock-out check (:mod:`.enrollment`): check_enrollment(policies, Target(...)) -> Report.
Errors (:mod:`.errors`): PolicyError ⊃ MalformedPolicyError ⊃ PolicyKindError, ContextError,
ManagedPolicyError ⊃ ManagedPolicyDataError.  A condition key the evaluator cannot know is never an
error: it is absent (AWS's rule) and reported in ``Result.warnings``.
"""

from __future__ import annotations

from .conditions import OPERATORS
from .context import DEFAULT_ACCOUNT, ContextKeys, ContextValue, Principal, PrincipalKind, RequestContext
from .document import (
    Condition,
    Effect,
    PolicyDocument,
    PrincipalSpec,
    Statement,
    load_policy,
    parse_policy,
    parse_policy_json,
)
from .enrollment import Report, Target, check_enrollment
from .errors import (
    ContextError,
    MalformedPolicyError,
    ManagedPolicyDataError,
    ManagedPolicyError,
    PolicyError,
    PolicyKindError,
)
from .evaluate import (
    Decision,
    Evaluator,
    EvalWarning,
    Match,
    PolicyKind,
    Result,
    evaluate,
    validate_identity_policy,
    validate_resource_policy,
)
from .managed import ManagedPolicyInfo, managed_policy, managed_policy_info, resolve_policy

__all__ = ["DEFAULT_ACCOUNT", "OPERATORS", "Condition", "ContextError", "ContextKeys", "ContextValue",
           "Decision", "Effect", "EvalWarning", "Evaluator", "MalformedPolicyError", "ManagedPolicyDataError",
           "ManagedPolicyError", "ManagedPolicyInfo", "Match", "PolicyDocument", "PolicyError", "PolicyKind",
           "PolicyKindError", "Principal", "PrincipalKind", "PrincipalSpec", "Report", "RequestContext",
           "Result", "Statement", "Target", "check_enrollment", "evaluate", "load_policy", "managed_policy",
           "managed_policy_info", "parse_policy", "parse_policy_json", "resolve_policy",
           "validate_identity_policy", "validate_resource_policy"]
