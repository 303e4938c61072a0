"""Wire format without boto3: XML documents, error envelopes, SigV4 checks, unknown actions, helpers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from tokens.awsserver.query import (
    IAM_NS,
    STS_NS,
    Timestamp,
    decode_params,
    query_request,
    render_error,
    render_result,
)

from .conftest import Aws, signed


def test_decode_params_drops_sigv4_members_and_body_wins() -> None:
    params = decode_params(b"Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Date=1", "Action=Other&A=1")
    req = query_request(params, "sts", "rid")
    assert (req.action, req.version, req.service, req.params) == ("GetCallerIdentity", "2011-06-15", "sts",
                                                                  {"A": "1"})


def test_render_shapes() -> None:
    req = query_request({"Action": "ListMFADevices", "Version": "2010-05-08"}, "iam", "rid-1")
    doc = ET.fromstring(render_result(req, {"MFADevices": [{"SerialNumber": "s", "EnableDate": Timestamp(0)}],
                                            "IsTruncated": False, "Skipped": None, "Blob": b"\x00\xff",
                                            "Text": "bell\x07"}))
    assert doc.tag == f"{{{IAM_NS}}}ListMFADevicesResponse"
    ns = {"i": IAM_NS}
    assert doc.findtext("i:ListMFADevicesResult/i:MFADevices/i:member/i:EnableDate", namespaces=ns) == \
        "1970-01-01T00:00:00Z"
    assert doc.findtext("i:ListMFADevicesResult/i:IsTruncated", namespaces=ns) == "false"
    assert doc.findtext("i:ListMFADevicesResult/i:Blob", namespaces=ns) == "AP8="
    assert doc.findtext("i:ListMFADevicesResult/i:Text", namespaces=ns) == "bell\ufffd"  # never invalid XML
    assert doc.find("i:ListMFADevicesResult/i:Skipped", namespaces=ns) is None
    assert doc.findtext("i:ResponseMetadata/i:RequestId", namespaces=ns) == "rid-1"
    err = ET.fromstring(render_error("sts", "AccessDenied", "no", "rid"))
    n = {"s": STS_NS}
    assert [e.tag.split("}")[1] for e in err.find("s:Error", n)] == ["Type", "Code", "Message"]  # type: ignore[union-attr]
    assert err.findtext("s:RequestId", namespaces=n) == "rid"


def test_error_envelope_on_the_wire(aws: Aws) -> None:
    r = signed(aws, {"Action": "GetUser", "Version": "2010-05-08", "UserName": "nobody"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/xml")
    doc = ET.fromstring(r.content)
    ns = {"i": IAM_NS}
    assert doc.tag == f"{{{IAM_NS}}}ErrorResponse"
    assert doc.findtext("i:Error/i:Type", namespaces=ns) == "Sender"
    assert doc.findtext("i:Error/i:Code", namespaces=ns) == "NoSuchEntity"
    assert doc.findtext("i:RequestId", namespaces=ns) == r.headers["x-amzn-requestid"]


@pytest.mark.parametrize(("body", "service", "status", "code"), [
    ({"Action": "DeleteBucket", "Version": "2010-05-08"}, "iam", 400, "InvalidAction"),
    ({"Version": "2010-05-08"}, "iam", 400, "InvalidAction"),
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
def test_bad_requests(aws: Aws, body: dict[str, str], service: str, status: int, code: str) -> None:
    r = signed(aws, body, service)
    assert r.status_code == status
    assert ET.fromstring(r.content).findtext(".//{*}Code") == code


def test_unsigned_and_badly_signed_requests(aws: Aws) -> None:
    r = httpx.post(
        aws.server.url + "/", data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, timeout=5
    )
    assert (
        r.status_code == 403
        and ET.fromstring(r.content).findtext(".//{*}Code") == "MissingAuthenticationToken"
    )
    body = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    assert (
        ET.fromstring(signed(aws, body, "sts", key=(aws.admin[0], "wrong")).content).findtext(".//{*}Code")
        == "SignatureDoesNotMatch"
    )
    assert (
        ET.fromstring(signed(aws, body, "sts", key=("AKIANOBODY0000000000", "x")).content).findtext(
            ".//{*}Code"
        )
        == "InvalidClientTokenId"
    )
    # a body changed after signing
    r = signed(aws, body, "sts")
    assert r.status_code == 200
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(
        method="POST",
        url=aws.server.url + "/",
        data="Action=GetCallerIdentity&Version=2011-06-15",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials(*aws.admin), "sts", "us-east-1").add_auth(req)
    r = httpx.post(
        aws.server.url + "/",
        content=b"Action=GetCallerIdentity&Version=2011-06-16",
        headers=dict(req.headers.items()),
        timeout=5,
    )
    assert ET.fromstring(r.content).findtext(".//{*}Code") == "SignatureDoesNotMatch"


def test_malformed_codes_are_validation_errors(aws: Aws) -> None:
    serial, _ = aws.enrolled()
    r = signed(
        aws,
        {
            "Action": "EnableMFADevice",
            "Version": "2010-05-08",
            "UserName": "alice",
            "SerialNumber": serial,
            "AuthenticationCode1": "12345a",
            "AuthenticationCode2": "123456",
        },
    )
    assert r.status_code == 400 and b"authenticationCode1" in r.content
    alice = aws.keys["alice"]
    r = signed(
        aws,
        {
            "Action": "GetSessionToken",
            "Version": "2011-06-15",
            "SerialNumber": serial,
            "TokenCode": "1234567",
        },
        "sts",
        key=alice,
    )
    assert r.status_code == 400 and b"tokenCode" in r.content
    r = signed(
        aws, {"Action": "GetSessionToken", "Version": "2011-06-15", "SerialNumber": serial}, "sts", key=alice
    )
    assert r.status_code == 403 and b"AccessDenied" in r.content


def test_query_string_get_and_helpers(aws: Aws) -> None:
    r = signed(aws, b"", "sts", method="GET", query="Action=GetCallerIdentity&Version=2011-06-15")
    assert r.status_code == 200 and b"<Arn>arn:aws:iam::123456789012:user/admin</Arn>" in r.content
    assert httpx.get(aws.server.url + "/_tokensim/health", timeout=5).json() == {
        "ok": True,
        "account_id": "123456789012",
    }
    assert httpx.get(aws.server.url + "/_tokensim/credentials/AKIANOPE", timeout=5).status_code == 404


def test_presigned_sts_request(aws: Aws) -> None:
    sts = aws.client("sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    r = httpx.get(url, timeout=5)
    assert r.status_code == 200 and b"user/admin" in r.content
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    assert (
        ET.fromstring(httpx.get(tampered, timeout=5).content).findtext(".//{*}Code")
        == "SignatureDoesNotMatch"
    )


def test_listening_socket_says_tcp_so_responses_are_not_nagled(aws: Aws) -> None:
    """asyncio sets TCP_NODELAY only on sockets created with proto IPPROTO_TCP; with proto 0 every
    response waited ~40 ms for the client's delayed ACK."""
    import socket

    assert aws.server._sock.proto == socket.IPPROTO_TCP


def test_s3_presigned_urls(aws: Aws) -> None:
    from botocore.config import Config

    s3 = aws.client("s3")
    s3.create_bucket(Bucket="presign-bucket")
    s3.put_object(Bucket="presign-bucket", Key="a b.txt", Body=b"hello")
    import boto3

    key, secret = aws.admin
    signer = boto3.client("s3", endpoint_url=aws.server.url, region_name="us-east-1", aws_access_key_id=key,
                          aws_secret_access_key=secret, config=Config(signature_version="s3v4"))
    url = signer.generate_presigned_url("get_object", Params={"Bucket": "presign-bucket", "Key": "a b.txt"})
    assert httpx.get(url, timeout=5).content == b"hello"
    assert httpx.get(url.replace("a%20b", "a%20c"), timeout=5).status_code == 403  # another key: signature
    v2 = s3.generate_presigned_url("get_object", Params={"Bucket": "presign-bucket", "Key": "a b.txt"})
    r = httpx.get(v2, timeout=5)
    assert r.status_code == 400 and b"<Code>InvalidRequest</Code>" in r.content and b"<Error>" in r.content
