"""One request through the endpoint: authenticate → resolve → authorize → run → render.

    HttpRequest ─► sigv4.parse ─► principal.authenticate (key, token, expiry, signature)
                ─► operations.resolve (botocore model) ─► resources.target (action, ARNs, keys)
                ─► entry rules (session kinds) ─► authz.authorize (identity + resource policies)
                ─► IAM/STS handlers (tokensim's own)  |  moto_bridge.forward (every other service)
                ─► the protocol's result or error shape (shapes.render)

Nothing below this module imports it.  Every failure becomes an AWS-shaped error; an unexpected
exception becomes ``InternalFailure`` (500) with one line on the server's stderr, never a traceback
to the client.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import TokensimError
from . import authz, context, iam, moto_bridge, operations, resources, shapes, sigv4, sts
from .backend import Backend
from .errors import AwsApiFault
from .http import HttpRequest
from .operations import Operation
from .principal import Principal, authenticate
from .query import decode_params, query_request, render_result

# no permission needed (AWS: "policies cannot restrict GetSessionToken / GetCallerIdentity");
# AssumeRole is authorised inside, against the trust policy
_STS_FREE = {"GetSessionToken", "GetCallerIdentity", "AssumeRole"}
# what a console session must still do while its password must be reset
_RESET_ALLOWED = {"iam:ChangePassword", "iam:GetAccountPasswordPolicy", "sts:GetCallerIdentity"}
OWN = {"iam": iam.ACTIONS, "sts": sts.ACTIONS}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Settings:
    extra_policies: Sequence[authz.NamedPolicy] = ()  # attached to every IAM user but the admin
    log_denials: bool = False


def _params(op_protocol: str, req: HttpRequest) -> dict[str, str]:
    if op_protocol in ("query", "ec2"):
        return decode_params(req.body, req.query)
    return req.query_params()


def _deny(op: Operation, caller: Principal, r: authz.Result) -> AwsApiFault:
    msg = r.access_denied_message(caller.arn)
    if op.prefix == "ec2":
        return AwsApiFault(
            "UnauthorizedOperation", f"You are not authorized to perform this operation. {msg}", 403
        )
    if op.prefix == "s3":
        return AwsApiFault("AccessDenied", msg, 403)
    if op.protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
        return AwsApiFault("AccessDeniedException", msg, 403 if op.protocol == "rest-json" else 400)
    return AwsApiFault("AccessDenied", msg, 403)


def _entry_rules(b: Backend, op: Operation, caller: Principal) -> None:
    """What a kind of credentials may call at all, before any policy is read."""
    cred = caller.credential
    if cred is None:
        return
    if cred.origin == "GetSessionToken":
        if op.prefix == "iam" and cred.mfa_auth_time is None:
            raise AwsApiFault(
                "AccessDenied",
                "You cannot call any IAM API operations unless MFA authentication "
                "information is included in the request.",
                403,
            )
        if op.prefix == "sts" and op.name not in ("AssumeRole", "GetCallerIdentity"):
            raise AwsApiFault("AccessDenied", f"Cannot call {op.name} with session credentials", 403)
    if cred.is_console and caller.username is not None and op.action not in _RESET_ALLOWED:
        lp = b.state.logins.get(user_name=caller.username)
        if lp is not None and lp.reset_required:
            raise AwsApiFault(
                "AccessDenied",
                f"User: {caller.arn} must change the password before calling "
                f"{op.action} (PasswordResetRequired)",
                403,
            )


def _change_password_allowed(b: Backend, op: Operation, caller: Principal) -> bool:
    """AllowUsersToChangePassword lets every IAM user change their own password (an explicit deny wins)."""
    if op.action != "iam:ChangePassword" or caller.username is None:
        return False
    raw = b.state.setting("password_policy")
    return bool(raw and json.loads(raw).get("AllowUsersToChangePassword"))


def authorize(
    b: Backend,
    settings: Settings,
    req: HttpRequest,
    op: Operation,
    params: dict[str, str],
    caller: Principal,
    region: str,
) -> None:
    if op.prefix == "sts" and op.name in _STS_FREE:
        return
    t = resources.target(b, op, params, caller, region)
    ctx = context.for_request(caller, b.account_id, b.now(), req, region, t.context)
    identity = authz.identity_policies(b, caller, settings.extra_policies)
    resource_policy = _bucket_policy(b, t.bucket) if t.bucket is not None else None
    for resource in t.resources:
        r = authz.authorize(b, identity, caller, t.action, resource, ctx, resource_policy=resource_policy)
        if r.allowed:
            continue
        if r.decision is authz.Verdict.IMPLICIT_DENY and _change_password_allowed(b, op, caller):
            continue
        if settings.log_denials:
            sys.stderr.write(f"tokensim aws serve: denied {t.action} on {resource} for {caller.arn}\n")
        raise _deny(op, caller, r)


def _bucket_policy(b: Backend, bucket: str) -> authz.NamedPolicy | None:
    doc = moto_bridge.bucket_policy(bucket, b.account_id)
    if doc is None:
        return None
    policy = authz.NamedPolicy(f"bucket policy of {bucket}", doc)
    try:
        authz.check_document(doc, kind=authz.Kind.RESOURCE)
    except AwsApiFault as e:  # moto accepted something the engine cannot read: say so, ignore it
        sys.stderr.write(f"tokensim aws serve: ignoring the bucket policy of {bucket}: {e.message}\n")
        return None
    return policy


def _run_own(
    b: Backend, op: Operation, params: dict[str, str], caller: Principal, request_id: str
) -> Response:
    qreq = query_request(params, op.prefix, request_id)
    handler = OWN[op.prefix].get(op.name)
    if handler is None:
        raise AwsApiFault(
            "InvalidAction", f"{op.name} is not implemented by tokensim aws serve (see docs/aws.md)", 400
        )
    result = handler(b, qreq, caller)
    headers = {"x-amzn-RequestId": request_id, "content-type": "text/xml"}
    if op.name == "GetCallerIdentity":
        headers.update(sts.mfa_headers(b, caller))
    return Response(200, render_result(qreq, result), headers)


def _sigv2(req: HttpRequest) -> bool:
    q = req.query_params()
    return req.header("authorization").startswith("AWS ") or ("AWSAccessKeyId" in q and "Signature" in q)


def _dry_run(op: Operation, params: dict[str, str]) -> bool:
    return op.prefix == "ec2" and params.get("DryRun", "").lower() == "true"


def handle(b: Backend, settings: Settings, req: HttpRequest) -> Response:
    request_id = str(uuid.uuid4())
    protocol, service = "query", "iam"
    try:
        signed = sigv4.parse(req)
        if signed is None:
            if _sigv2(req):  # S3's legacy signatures: answered as S3 does where only SigV4 is accepted
                protocol = "rest-xml"
                raise AwsApiFault("InvalidRequest", "The authorization mechanism you have provided is not "
                                  "supported. Please use AWS4-HMAC-SHA256.", 400)
            raise AwsApiFault("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
        service = signed.service
        model = operations.model_for(signed.service)
        if model is not None:
            protocol = operations.request_protocol(model, req)
        caller = authenticate(b, req, signed)
        params = _params(protocol, req)
        op = operations.resolve(signed.service, req, params)
        _entry_rules(b, op, caller)
        authorize(b, settings, req, op, params, caller, signed.region)
        if op.prefix in OWN:
            return _run_own(b, op, params, caller, request_id)
        if _dry_run(op, params):
            raise AwsApiFault("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
        r = moto_bridge.forward(req)
        return Response(r.status, r.body, dict(r.headers))
    except AwsApiFault as e:
        return Response(*shapes.render(protocol, service, e, request_id))
    except TokensimError as e:  # a library refusal the checks above did not catch
        err = AwsApiFault("ValidationError", str(e), 400)
        return Response(*shapes.render(protocol, service, err, request_id))
    except Exception as e:  # never a traceback to the client; one line to the server's stderr
        sys.stderr.write(
            f"tokensim aws serve: {req.method} {req.raw_path[:80]} failed: {type(e).__name__}: {e}\n"
        )
        err = AwsApiFault("InternalFailure", "internal error", 500, "Receiver")
        return Response(*shapes.render(protocol, service, err, request_id))
