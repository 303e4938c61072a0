"""AWS query protocol under arbitrary input: an AWS-shaped error or a valid answer, never a 500.

Requests go straight into the endpoint's pipeline (no sockets): arbitrary parameters signed with
the administrator's real key (so they reach the IAM/STS handlers and validation), and arbitrary
unsigned bodies, headers and paths (so they exercise SigV4 parsing and operation resolution).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz._settings import FUZZ
from tokens.awsserver import Backend
from tokens.awsserver.http import HttpRequest
from tokens.awsserver.pipeline import Settings, handle
from tokens.clock import ManualClock

IAM_ACTIONS = ["CreateUser", "GetUser", "CreateVirtualMFADevice", "EnableMFADevice", "ListVirtualMFADevices",
               "CreateGroup", "AddUserToGroup", "CreatePolicy", "AttachUserPolicy", "PutUserPolicy",
               "CreateRole", "CreateLoginProfile", "ChangePassword", "UpdateAccountPasswordPolicy",
               "SimulateCustomPolicy", "SimulatePrincipalPolicy", "CreateAccessKey", "ListUsers",
               "DeleteVirtualMFADevice", "ResyncMFADevice", "CreatePolicyVersion"]
STS_ACTIONS = ["GetSessionToken", "AssumeRole", "GetCallerIdentity"]
MEMBERS = ["UserName", "Path", "VirtualMFADeviceName", "SerialNumber", "AuthenticationCode1",
           "AuthenticationCode2", "DurationSeconds", "TokenCode", "GroupName", "PolicyName", "PolicyDocument",
           "PolicyArn", "RoleName", "AssumeRolePolicyDocument", "Password", "PasswordResetRequired",
           "RoleArn", "RoleSessionName", "MaxItems", "Marker", "AssignmentStatus", "ActionNames.member.1",
           "ContextEntries.member.1.ContextKeyName", "ContextEntries.member.1.ContextKeyType",
           "ContextEntries.member.1.ContextKeyValues.member.1", "PolicyInputList.member.1",
           "MinimumPasswordLength", "PolicySourceArn", "OldPassword", "NewPassword"]
text = st.one_of(st.text(max_size=40), st.sampled_from(["/", "/a/", "alice", "123456", "900", "true",
                                                         "arn:aws:iam::123456789012:user/alice",
                                                         '{"Version":"2012-10-17","Statement":[]}',
                                                         "\x00", "٣", "/\x01/"]))


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    b = Backend(Path(tmp_path_factory.mktemp("fuzz")) / "aws.sqlite3", clock=ManualClock(1_767_225_600.0))
    yield b
    b.close()


def signed_request(b: Backend, service: str, body: bytes) -> HttpRequest:
    req = AWSRequest(method="POST", url="http://localhost/", data=body,
                     headers={"content-type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(b.admin.access_key_id, b.admin.secret), service, "us-east-1").add_auth(req)
    return HttpRequest(
        "POST", "/", "", {"host": "localhost", **{k.lower(): v for k, v in req.headers.items()}}, body
    )


def assert_aws_shaped(status: int, body: bytes, headers: dict[str, str]) -> None:
    assert status != 500, body
    assert 200 <= status < 500
    if headers.get("content-type", "").startswith("application/x-amz-json"):
        json.loads(body)
        return
    root = ET.fromstring(body)  # well-formed XML whatever the input was
    if status >= 400:
        assert root.findtext(".//{*}Code"), body


@FUZZ
@given(
    action=st.sampled_from(IAM_ACTIONS + STS_ACTIONS),
    params=st.dictionaries(st.sampled_from(MEMBERS), text, max_size=6),
)
def test_signed_query_requests_never_fail_with_500(
    backend: Backend, action: str, params: dict[str, str]
) -> None:
    service = "sts" if action in STS_ACTIONS else "iam"
    version = "2011-06-15" if service == "sts" else "2010-05-08"
    fields = {"Action": action, "Version": version, **params}
    body = "&".join(f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in fields.items())
    r = handle(backend, Settings(), signed_request(backend, service, body.encode()))
    assert_aws_shaped(r.status, r.body, r.headers)
    # every list answer stays readable whatever was stored
    listing = handle(
        backend,
        Settings(),
        signed_request(backend, "iam", b"Action=ListVirtualMFADevices&Version=2010-05-08"),
    )
    assert listing.status == 200
    ET.fromstring(listing.body)


@FUZZ
@given(
    body=st.binary(max_size=300),
    path=st.sampled_from(["/", "/bucket", "/bucket/key", "/?x", "/%ff"]),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "authorization",
                "x-amz-date",
                "x-amz-target",
                "content-type",
                "x-amz-security-token",
                "x-amz-content-sha256",
                "host",
            ]
        ),
        st.text(max_size=120).filter(lambda s: s.isprintable()),
        max_size=5,
    ),
    query=st.text(max_size=80),
)
def test_arbitrary_requests_get_aws_shaped_errors(
    backend: Backend, body: bytes, path: str, method: str, headers: dict[str, str], query: str
) -> None:
    req = HttpRequest(method, path.split("?")[0], quote(query, safe="=&"), headers, body)
    r = handle(backend, Settings(), req)
    assert_aws_shaped(r.status, r.body, r.headers)


@FUZZ
@given(
    credential=st.text(max_size=120),
    signed_headers=st.text(max_size=40),
    signature=st.text(max_size=70),
    amz_date=st.sampled_from(["20260101T000000Z", "bad", "", "99999999T999999Z"]),
)
def test_malformed_authorization_headers(
    backend: Backend, credential: str, signed_headers: str, signature: str, amz_date: str
) -> None:
    auth = f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, Signature={signature}"
    req = HttpRequest(
        "POST",
        "/",
        "",
        {"authorization": auth, "x-amz-date": amz_date, "host": "localhost"},
        b"Action=GetCallerIdentity&Version=2011-06-15",
    )
    r = handle(backend, Settings(), req)
    assert_aws_shaped(r.status, r.body, r.headers)
    assert r.status >= 400
