"""Issue 19, finding 4: control characters in Path broke every later XML answer; no request body limit
(200 MB answered 200, memory 40 → 821 MB); Unicode digits accepted in DurationSeconds."""

from __future__ import annotations

import asyncio
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import pytest

from tokens.awsserver.errors import AwsApiFault
from tokens.awsserver.http import read_capped

from .conftest import Aws, error_of, signed


@pytest.mark.parametrize("path", ["/a\x01/", "/\x00/", "/tab\t/", "/ünï/", "/a b/", "/\x7f/", "a/", "/a"])
def test_finding4_control_characters_in_path_are_refused(aws: Aws, path: str) -> None:
    code, msg, status = error_of(
        lambda: aws.iam.create_virtual_mfa_device(VirtualMFADeviceName="d", Path=path)
    )
    assert (code, status) == ("ValidationError", 400) and "'path'" in msg
    assert code == error_of(lambda: aws.iam.create_user(UserName="u", Path=path))[0]
    assert code == error_of(lambda: aws.iam.create_group(GroupName="g", Path=path))[0]
    # nothing was stored, and every list answer is still valid XML that boto3 reads
    assert aws.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert [u["UserName"] for u in aws.iam.list_users()["Users"]] == ["admin"]


@pytest.mark.parametrize(
    "name", ["bell%07", "nul%00", "%C3%BCnicode", "a" * 65, "sp%20ace", "x%ED%A0%80", "x%FF"]
)
def test_finding4_names_are_checked_like_aws(aws: Aws, name: str) -> None:
    r = signed(aws, f"Action=CreateUser&Version=2010-05-08&UserName={name}".encode())
    assert r.status_code == 400
    assert ET.fromstring(r.content).findtext(".//{*}Code") == "ValidationError"  # the error itself is XML


def test_finding4_body_over_the_cap_is_refused_by_its_declared_length(aws: Aws) -> None:
    """A client that declares 200 MB is answered 413 before a byte of the body is read."""
    host, port = aws.server.host, aws.server.port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 209715200\r\n\r\nAction=GetCallerIdentity"
        )
        head = b""
        while chunk := s.recv(65536):
            head += chunk
    assert head.startswith(b"HTTP/1.1 413")
    assert b"<Code>RequestEntityTooLarge</Code>" in head


def test_finding4_chunked_body_stops_at_the_cap(aws: Aws) -> None:
    """No Content-Length: the body is read chunk by chunk and refused once past the cap."""
    import httpx

    sent = 0

    def body() -> object:
        nonlocal sent
        for _ in range(400):  # up to 200 MB, if it were all read
            sent += 512 * 1024
            yield b"A" * (512 * 1024)

    try:
        r = httpx.post(aws.server.url + "/", content=body(), timeout=30)  # type: ignore[arg-type]
        assert r.status_code == 413 and b"RequestEntityTooLarge" in r.content
    except httpx.TransportError:
        pass  # the server may close the connection while the client is still sending
    assert sent < 50 * 1024 * 1024  # the client was stopped long before 200 MB


def test_finding4_reader_never_holds_more_than_the_cap() -> None:
    consumed = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(1000):
            consumed += 1
            yield b"x" * 65536

    with pytest.raises(AwsApiFault) as e:
        asyncio.run(read_capped(chunks(), 1024 * 1024, None))
    assert e.value.status == 413 and consumed == 17  # 16 chunks fit in 1 MiB, the 17th is refused

    async def small() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    assert asyncio.run(read_capped(small(), 4, None)) == b"abcd"
    with pytest.raises(AwsApiFault):
        asyncio.run(read_capped(chunks(), 1024, "9" * 30))


@pytest.mark.parametrize(
    "raw",
    [
        "\uff13\uff16\uff10\uff10",
        "\u0663\u0666\u0660\u0660",
        "+3600",
        " 3600",
        "3600.0",
        "3_600",
        "1e4",
        "-900",
        "",
    ],
)
def test_finding4_duration_seconds_only_ascii_digits(aws: Aws, raw: str) -> None:
    aws.user("alice")
    r = signed(
        aws,
        {"Action": "GetSessionToken", "Version": "2011-06-15", "DurationSeconds": raw},
        "sts",
        key=aws.keys["alice"],
    )
    if raw == "":
        assert r.status_code == 200  # an empty member is an absent member: the default duration
        return
    assert r.status_code == 400
    assert ET.fromstring(r.content).findtext(".//{*}Code") == "ValidationError"


def test_finding4_duration_seconds_in_range(aws: Aws) -> None:
    aws.user("alice")
    for raw, ok in (("899", False), ("900", True), ("129600", True), ("129601", False), ("9" * 40, False)):
        r = signed(
            aws,
            {"Action": "GetSessionToken", "Version": "2011-06-15", "DurationSeconds": raw},
            "sts",
            key=aws.keys["alice"],
        )
        assert (r.status_code == 200) is ok, (raw, r.content)
