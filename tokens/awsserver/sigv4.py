"""SigV4 authentication: read who signed a request, then check the signature with botocore's signer.

No crypto is written here: the request is rebuilt as a :class:`botocore.awsrequest.AWSRequest`
holding exactly the signed headers, the raw path and query, and the body, and botocore's
``SigV4Auth`` (``S3SigV4Auth`` for S3; the ``...QueryAuth`` variants for presigned URLs) computes
the canonical request, string to sign and signature, compared in constant time.

Both forms are read: the ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
Signature=...`` header and the presigned query (``X-Amz-Algorithm``, ``X-Amz-Credential``,
``X-Amz-Date``, ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``).  Timestamps are
checked against the wall clock the client signed with (15 minutes of skew, presigned expiry).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .errors import AwsApiFault
from .http import HttpRequest

MAX_SKEW = 15 * 60
MAX_PRESIGN = 7 * 24 * 3600
_AUTH = re.compile(r"AWS4-HMAC-SHA256\s+(.*)", re.DOTALL)
_SCOPE = re.compile(r"([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
UNSIGNED = {"UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}


@dataclass(frozen=True)
class Signed:
    """What a request claims: key, scope and the pieces needed to check the signature."""

    access_key_id: str
    date: str  # yyyymmdd
    region: str
    service: str  # the signing name (iam, sts, s3, ec2, monitoring ...)
    amz_date: str  # yyyymmddThhmmssZ
    signed_headers: tuple[str, ...]
    signature: str
    session_token: str | None
    presigned: bool
    expires: int | None = None


def _missing_auth() -> AwsApiFault:
    return AwsApiFault("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def _incomplete(what: str) -> AwsApiFault:
    return AwsApiFault("IncompleteSignature", f"Authorization header requires '{what}' parameter.", 403)


def parse(req: HttpRequest) -> Signed | None:
    """The claimed signature of ``req`` (None when the request is not signed at all)."""
    auth = req.header("authorization")
    q = req.query_params()
    if auth:
        m = _AUTH.fullmatch(auth.strip())
        if m is None:
            raise AwsApiFault("IncompleteSignature", "Unsupported or malformed Authorization header "
                              "(only AWS4-HMAC-SHA256 is accepted)", 403)
        parts: dict[str, str] = {}
        for item in m.group(1).split(","):
            k, sep, v = item.strip().partition("=")
            if sep:
                parts[k] = v
        for name in ("Credential", "SignedHeaders", "Signature"):
            if name not in parts:
                raise _incomplete(name)
        amz_date = req.header("x-amz-date")
        if not amz_date:
            raise AwsApiFault("IncompleteSignature", "Authorization header requires existence of either a "
                              "'X-Amz-Date' or a 'Date' header.", 403)
        return _signed(parts["Credential"], amz_date, parts["SignedHeaders"], parts["Signature"],
                       req.header("x-amz-security-token") or None, presigned=False, expires=None)
    if "X-Amz-Signature" in q or "X-Amz-Credential" in q:
        for name in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
                     "X-Amz-Signature"):
            if name not in q:
                raise AwsApiFault("AuthorizationQueryParametersError",
                                  f"Query-string authentication requires the {name} parameter", 400)
        if q["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise AwsApiFault("AuthorizationQueryParametersError",
                              "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"", 400)
        raw = q.get("X-Amz-Expires", "900")
        if not (raw.isascii() and raw.isdigit() and 1 <= len(raw) <= 7):
            raise AwsApiFault("AuthorizationQueryParametersError",
                              "X-Amz-Expires should be a number", 400)
        return _signed(q["X-Amz-Credential"], q["X-Amz-Date"], q["X-Amz-SignedHeaders"],
                       q["X-Amz-Signature"], q.get("X-Amz-Security-Token"), presigned=True,
                       expires=int(raw))
    return None


def _signed(credential: str, amz_date: str, signed_headers: str, signature: str, token: str | None, *,
            presigned: bool, expires: int | None) -> Signed:
    m = _SCOPE.fullmatch(credential)
    if m is None:
        raise AwsApiFault("IncompleteSignature", f"Credential should be scoped to a valid region, not "
                          f"'{credential[:120]}'", 403)
    try:
        datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise AwsApiFault("IncompleteSignature", "Date must be in ISO-8601 'basic format'.", 403) from None
    headers = tuple(h for h in signed_headers.lower().split(";") if h)
    if "host" not in headers:
        raise AwsApiFault("SignatureDoesNotMatch", "'Host' must be a 'SignedHeader' in the AWS "
                          "Authorization.", 403)
    return Signed(access_key_id=m.group(1), date=m.group(2), region=m.group(3), service=m.group(4),
                  amz_date=amz_date, signed_headers=headers, signature=signature.strip(),
                  session_token=token, presigned=presigned, expires=expires)


def signed_at(s: Signed) -> float:
    return datetime.strptime(s.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def check_time(s: Signed, wall_now: float) -> None:
    t = signed_at(s)
    if s.date != s.amz_date[:8]:
        raise AwsApiFault("SignatureDoesNotMatch", "Date in Credential scope does not match YYYYMMDD from "
                          "ISO-8601 version of date from HTTP", 403)
    if s.presigned:
        assert s.expires is not None
        if s.expires > MAX_PRESIGN:
            raise AwsApiFault("AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week "
                              "(in seconds) that is 604800", 400)
        if wall_now > t + s.expires or t > wall_now + MAX_SKEW:
            raise AwsApiFault("AccessDenied" if s.service == "s3" else "ExpiredToken",
                              "Request has expired", 403)
        return
    if abs(wall_now - t) > MAX_SKEW:
        code = "RequestTimeTooSkewed" if s.service == "s3" else "SignatureDoesNotMatch"
        raise AwsApiFault(code, "Signature expired: the difference between the request time and the "
                          "current time is too large.", 403)


def expected_signature(req: HttpRequest, s: Signed, secret: str) -> str:
    """The signature botocore computes for ``req`` with ``secret``."""
    query = req.query
    if s.presigned:
        query = "&".join(p for p in req.query.split("&") if not p.startswith("X-Amz-Signature="))
    url = f"http://{req.header('host') or 'localhost'}{req.raw_path}" + (f"?{query}" if query else "")
    headers = {h: req.header(h) for h in s.signed_headers if h in req.headers}
    aws = AWSRequest(method=req.method.upper(), url=url, headers=headers, data=req.body)
    aws.context["timestamp"] = s.amz_date
    creds = Credentials(s.access_key_id, secret, s.session_token)
    signer: SigV4Auth
    if s.presigned:
        cls = S3SigV4QueryAuth if s.service == "s3" else SigV4QueryAuth
        signer = cls(creds, s.service, s.region, expires=s.expires or 0)
    else:
        signer = (S3SigV4Auth if s.service == "s3" else SigV4Auth)(creds, s.service, s.region)
    canonical = signer.canonical_request(aws)
    return str(signer.signature(signer.string_to_sign(aws, canonical), aws))


def verify(req: HttpRequest, s: Signed, secret: str) -> None:
    """SignatureDoesNotMatch unless the signature and the declared body hash are right."""
    declared = req.header("x-amz-content-sha256")
    hashed = declared and declared not in UNSIGNED and not declared.startswith("STREAMING-")
    if hashed and not hmac.compare_digest(declared.lower(), hashlib.sha256(req.body).hexdigest()):
        raise AwsApiFault("XAmzContentSHA256Mismatch" if s.service == "s3" else "SignatureDoesNotMatch",
                          "The provided 'x-amz-content-sha256' header does not match what was computed.",
                          400 if s.service == "s3" else 403)
    if not hmac.compare_digest(expected_signature(req, s, secret), s.signature):
        raise AwsApiFault("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                          "signature you provided. Check your AWS Secret Access Key and signing method. "
                          "Consult the service documentation for details.", 403)

