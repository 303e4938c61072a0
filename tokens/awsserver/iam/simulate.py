"""SimulatePrincipalPolicy and SimulateCustomPolicy: the policy engine's verdict per action and resource.

The context is what ``ContextEntries`` gives (e.g. ``aws:MultiFactorAuthPresent`` boolean,
``aws:MultiFactorAuthAge`` numeric), plus, for a principal, its ``aws:username``, ``aws:userid``
and ``aws:PrincipalArn`` — nothing of the caller's own request leaks into a simulation.
"""

from __future__ import annotations

from typing import Any

from .. import authz, engine, validate
from ..backend import Backend
from ..context import ContextValue
from ..errors import AwsApiFault, no_such_entity
from ..principal import Principal, PrincipalKind
from ..query import QueryRequest
from .common import Handler, Result, page

_TYPES = {"string", "stringList", "numeric", "numericList", "boolean", "booleanList", "ip", "ipList",
          "binary", "binaryList", "date", "dateList"}


def _typed(kind: str, value: str) -> ContextValue:
    base = kind.removesuffix("List")
    try:
        if base == "boolean":
            return value.lower() == "true"
        if base == "numeric":
            return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        raise AwsApiFault("InvalidInput", f"Invalid {kind} context value {value[:32]!r}") from None
    return value


def _context_entries(req: QueryRequest) -> dict[str, ContextValue]:
    out: dict[str, ContextValue] = {}
    i = 1
    while f"ContextEntries.member.{i}.ContextKeyName" in req.params:
        base = f"ContextEntries.member.{i}"
        key = req.params[f"{base}.ContextKeyName"]
        kind = req.params.get(f"{base}.ContextKeyType", "string")
        if kind not in _TYPES:
            raise AwsApiFault("InvalidInput", f"Invalid ContextKeyType {kind[:32]}")
        values = req.members(f"{base}.ContextKeyValues")
        if kind.endswith("List"):
            out[key] = tuple(values)
        elif values:
            out[key] = _typed(kind, values[0])
        i += 1
    return out


def _policies(req: QueryRequest, param: str) -> list[authz.NamedPolicy]:
    out = []
    for n, doc in enumerate(req.members(param), 1):
        authz.check_document(doc)
        out.append(authz.NamedPolicy(f"PolicyInputList.{n}", doc))
    return out


def _simulate(b: Backend, policies: list[authz.NamedPolicy], req: QueryRequest, ctx: dict[str, ContextValue],
              principal: Principal | None) -> Result:
    actions = req.members("ActionNames")
    if not actions:
        raise AwsApiFault(
            "ValidationError",
            "1 validation error detected: Value null at 'actionNames' failed to "
            "satisfy constraint: Member must not be null",
        )
    resources = req.members("ResourceArns") or ["*"]
    results: list[dict[str, Any]] = []
    for action in actions:
        for resource in resources:
            who = engine.principal_of(principal, b.account_id) if principal is not None else None
            r = engine.evaluate(policies, action, resource, ctx, who)
            item: dict[str, Any] = {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": r.decision.aws_name,
                "MissingContextValues": list(r.missing_context_keys),
            }
            if r.deciding:
                item["MatchedStatements"] = [
                    {"SourcePolicyId": m.policy, "SourcePolicyType": "IAM Policy"} for m in r.deciding
                ]
            results.append(item)
    return page(req, results, "EvaluationResults")


def simulate_custom_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    policies = _policies(req, "PolicyInputList")
    if not policies:
        raise AwsApiFault(
            "ValidationError",
            "1 validation error detected: Value null at 'policyInputList' "
            "failed to satisfy constraint: Member must not be null",
        )
    return _simulate(b, policies, req, _context_entries(req), None)


def simulate_principal_policy(b: Backend, req: QueryRequest, caller: Principal) -> Result:
    source = validate.arn(req, "PolicySourceArn")
    name = source.rsplit("/", 1)[-1]
    principal: Principal
    if f":{b.account_id}:user/" in source and (u := b.state.users.get(name=name)) is not None:
        principal = Principal(PrincipalKind.USER, b.user_arn(u), b.user_arn(u), u.user_id, user=u)
    elif f":{b.account_id}:role/" in source and (r := b.state.roles.get(name=name)) is not None:
        arn = b.arn("role", r.path, r.name)
        principal = Principal(PrincipalKind.ROLE_SESSION, arn, arn, r.role_id, role=r)
    elif f":{b.account_id}:group/" in source and b.state.groups.get(name=name) is not None:
        from ..records import Kind

        policies = authz.entity_policies(b, Kind.GROUP, name)
        return _simulate(b, policies + _policies(req, "PolicyInputList"), req, _context_entries(req), None)
    else:
        raise no_such_entity(f"The entity {source[:256]} cannot be found.")
    ctx: dict[str, ContextValue] = {
        "aws:userid": principal.user_id,
        "aws:PrincipalArn": principal.principal_arn,
    }
    if principal.username:
        ctx["aws:username"] = principal.username
    ctx.update(_context_entries(req))
    policies = authz.identity_policies(b, principal) + _policies(req, "PolicyInputList")
    return _simulate(b, policies, req, ctx, principal)


ACTIONS: dict[str, Handler] = {
    "SimulateCustomPolicy": simulate_custom_policy,
    "SimulatePrincipalPolicy": simulate_principal_policy,
}
