"""Wire format without boto3: the XML documents, error envelope, service detection, unknown actions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from tokens.awsserver.protocol import IAM_NS, STS_NS, Timestamp, parse_request, render_error, render_result

from .conftest import Aws

SIGV4 = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{svc}/aws4_request, "
         "SignedHeaders=host;x-amz-date, Signature=00")


def post(aws: Aws, body: dict[str, str], service: str | None = None) -> httpx.Response:
    headers = {"Authorization": SIGV4.format(svc=service)} if service else {}
    return httpx.post(aws.server.url + "/", data=body, headers=headers, timeout=5)


def test_parse_request_reads_scope_and_params() -> None:
    req = parse_request(b"Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Date=1", "",
                        {"authorization": SIGV4.format(svc="sts")})
    assert (req.action, req.version, req.service, req.access_key_id) == (
        "GetCallerIdentity", "2011-06-15", "sts", "AKIDEXAMPLE")
    assert req.params == {}
    # no signature: the action decides the service
    assert parse_request(b"Action=GetSessionToken", "", {}).service == "sts"
    assert parse_request(b"", "Action=CreateUser&UserName=a", {}).params == {"UserName": "a"}


def test_render_shapes() -> None:
    req = parse_request(b"Action=ListMFADevices&Version=2010-05-08", "", {})
    doc = ET.fromstring(render_result(req, {"MFADevices": [{"SerialNumber": "s", "EnableDate": Timestamp(0)}],
                                            "IsTruncated": False, "Skipped": None, "Blob": b"\x00\xff"}))
    assert doc.tag == f"{{{IAM_NS}}}ListMFADevicesResponse"
    ns = {"i": IAM_NS}
    assert doc.findtext("i:ListMFADevicesResult/i:MFADevices/i:member/i:EnableDate", namespaces=ns) == \
        "1970-01-01T00:00:00Z"
    assert doc.findtext("i:ListMFADevicesResult/i:IsTruncated", namespaces=ns) == "false"
    assert doc.findtext("i:ListMFADevicesResult/i:Blob", namespaces=ns) == "AP8="
    assert doc.find("i:ListMFADevicesResult/i:Skipped", namespaces=ns) is None
    assert doc.findtext("i:ResponseMetadata/i:RequestId", namespaces=ns) == req.request_id
    err = ET.fromstring(render_error("sts", "AccessDenied", "no", "rid"))
    n = {"s": STS_NS}
    assert [e.tag.split("}")[1] for e in err.find("s:Error", n)] == ["Type", "Code", "Message"]  # type: ignore[union-attr]
    assert err.findtext("s:RequestId", namespaces=n) == "rid"


def test_error_envelope_on_the_wire(aws: Aws) -> None:
    r = post(aws, {"Action": "GetUser", "Version": "2010-05-08", "UserName": "nobody"}, "iam")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/xml")
    doc = ET.fromstring(r.content)
    ns = {"i": IAM_NS}
    assert doc.tag == f"{{{IAM_NS}}}ErrorResponse"
    assert doc.findtext("i:Error/i:Type", namespaces=ns) == "Sender"
    assert doc.findtext("i:Error/i:Code", namespaces=ns) == "NoSuchEntity"
    assert doc.findtext("i:RequestId", namespaces=ns) == r.headers["x-amzn-requestid"]


@pytest.mark.parametrize(("body", "service", "status", "code"), [
    ({"Action": "DeleteBucket", "Version": "2010-05-08"}, "iam", 400, "InvalidAction"),
    ({"Version": "2010-05-08"}, None, 400, "InvalidAction"),
    ({"Action": "CreateUser", "Version": "2010-05-08"}, "iam", 400, "ValidationError"),  # no UserName
    ({"Action": "CreateUser", "Version": "2010-05-08", "UserName": "bad name!"}, "iam", 400,
     "ValidationError"),
    ({"Action": "CreateVirtualMFADevice", "Version": "2010-05-08", "VirtualMFADeviceName": "d",
      "Path": "nopath"}, "iam", 400, "ValidationError"),
    ({"Action": "GetSessionToken", "Version": "2011-06-15", "DurationSeconds": "soon"}, "sts", 400,
     "ValidationError"),
    ({"Action": "ListVirtualMFADevices", "Version": "2010-05-08", "AssignmentStatus": "Some"}, "iam", 400,
     "ValidationError"),
    ({"Action": "GetCallerIdentity", "Version": "2011-06-15"}, "iam", 400, "InvalidAction"),  # wrong service
])
def test_bad_requests(aws: Aws, body: dict[str, str], service: str | None, status: int, code: str) -> None:
    r = post(aws, body, service)
    assert r.status_code == status
    assert ET.fromstring(r.content).findtext(".//{*}Code") == code


def test_malformed_codes_are_validation_errors(aws: Aws) -> None:
    serial, _ = aws.enrolled()
    r = post(aws, {"Action": "EnableMFADevice", "Version": "2010-05-08", "UserName": "alice",
                   "SerialNumber": serial, "AuthenticationCode1": "12345a",
                   "AuthenticationCode2": "123456"}, "iam")
    assert r.status_code == 400 and b"authenticationCode1" in r.content
    r = post(aws, {"Action": "GetSessionToken", "Version": "2011-06-15", "SerialNumber": serial,
                   "TokenCode": "1234567"}, "sts")
    assert r.status_code == 400 and b"tokenCode" in r.content
    r = post(aws, {"Action": "GetSessionToken", "Version": "2011-06-15", "SerialNumber": serial}, "sts")
    assert r.status_code == 403 and b"AccessDenied" in r.content


def test_query_string_get_and_helpers(aws: Aws) -> None:
    r = httpx.get(aws.server.url + "/?Action=GetCallerIdentity&Version=2011-06-15", timeout=5)
    assert r.status_code == 200 and b"<Arn>arn:aws:iam::123456789012:root</Arn>" in r.content
    assert httpx.get(aws.server.url + "/_tokensim/health", timeout=5).json() == {
        "ok": True, "account_id": "123456789012"}
    assert httpx.get(aws.server.url + "/_tokensim/credentials/AKIANOPE", timeout=5).status_code == 404


def test_presigned_credential_in_query() -> None:
    req = parse_request(b"", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Credential="
                        "ASIAXYZ%2F20260101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=00", {})
    assert (req.access_key_id, req.service, req.params) == ("ASIAXYZ", "sts", {})


def test_listening_socket_says_tcp_so_responses_are_not_nagled(aws: Aws) -> None:
    """asyncio sets TCP_NODELAY only on sockets created with proto IPPROTO_TCP; with proto 0 every
    response waited ~40 ms for the client's delayed ACK."""
    import socket

    assert aws.server._sock.proto == socket.IPPROTO_TCP
