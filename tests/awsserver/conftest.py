"""A real endpoint on loopback (uvicorn in a thread, free port) sharing a ManualClock with the test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.config import Config

from tokens.awsserver import AwsServer
from tokens.clock import DriftModel, ManualClock
from tokens.otp import decode_secret
from tokens.virtual import VirtualTOTP

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a TOTP step boundary
# a statement letting each user read their own IAM user (the policy variable is substituted per request)
GET_OWN_USER = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}


@dataclass
class Aws:
    """The endpoint, its clock, and clients: ``iam`` is the administrator's; ``sts`` is the current test
    user's (the last one made by :meth:`user` / :meth:`enrolled`, whose keys are in ``keys``)."""

    server: AwsServer
    clock: ManualClock
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    current: str | None = None

    @property
    def admin(self) -> tuple[str, str]:
        cred = self.server.backend.admin
        return cred.access_key_id, cred.secret

    def client(
        self,
        service: str,
        key: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        validate: bool = True,
    ) -> Any:
        import boto3

        if key is None:
            key, secret = self.admin
        return boto3.client(
            service,
            endpoint_url=self.server.url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(
                retries={"max_attempts": 1}, parameter_validation=validate, connect_timeout=5, read_timeout=10
            ),
        )

    def user(self, name: str = "alice", *, allow_all: bool = False) -> tuple[str, str]:
        """CreateUser + CreateAccessKey (the admin's calls); ``allow_all`` attaches AdministratorAccess."""
        self.iam.create_user(UserName=name)
        if allow_all:
            self.iam.attach_user_policy(
                UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
            )
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.keys[name] = (k["AccessKeyId"], k["SecretAccessKey"])
        self.current = name
        return self.keys[name]

    def put_policy(self, user: str, name: str, *statements: dict[str, Any]) -> None:
        """PutUserPolicy (the admin's call): an inline policy ``name`` of ``statements`` on ``user``."""
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        self.iam.put_user_policy(UserName=user, PolicyName=name, PolicyDocument=json.dumps(document))

    def as_user(self, service: str, name: str | None = None) -> Any:
        key, secret = self.keys[name or self.current or ""]
        return self.client(service, key, secret)

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def sts(self) -> Any:
        return self.as_user("sts") if self.current else self.client("sts")

    def session_client(self, service: str, creds: dict[str, Any]) -> Any:
        return self.client(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    def new_device(
        self, user: str = "alice", name: str | None = None, drift: DriftModel | None = None
    ) -> tuple[str, VirtualTOTP]:
        """CreateVirtualMFADevice and a VirtualTOTP holding its seed, on the shared clock."""
        vmfa = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name or user)["VirtualMFADevice"]
        token = VirtualTOTP(
            decode_secret(vmfa["Base32StringSeed"].decode("ascii")), reference=self.clock, drift=drift
        )
        return vmfa["SerialNumber"], token

    def enrolled(self, user: str = "alice", drift: DriftModel | None = None) -> tuple[str, VirtualTOTP]:
        """A user with an enabled virtual MFA device; the clock moves on to the step after the codes."""
        self.user(user)
        serial, token = self.new_device(user, drift=drift)
        c1, c2 = token.consecutive(2)
        self.iam.enable_mfa_device(
            UserName=user, SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2
        )
        self.clock.advance(60)  # past the second code's step: the next code is fresh
        return serial, token


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[Aws]:
    clock = ManualClock(T0)
    server = AwsServer(tmp_path / "aws.sqlite3", clock=clock)
    with server:
        yield Aws(server, clock)


def signed(
    aws: Aws,
    body: dict[str, str] | bytes,
    service: str = "iam",
    *,
    key: tuple[str, str] | None = None,
    path: str = "/",
    query: str = "",
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> Any:
    """A raw request signed with SigV4 by botocore (the admin's keys by default), sent with httpx."""
    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = body if isinstance(body, bytes) else "&".join(f"{k}={quote(v, safe='')}" for k, v in body.items())
    url = aws.server.url + path + (f"?{query}" if query else "")
    hdrs = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})}
    req = AWSRequest(method=method, url=url, data=data, headers=hdrs)
    SigV4Auth(Credentials(*(key or aws.admin)), service, "us-east-1").add_auth(req)
    return httpx.request(method, url, content=req.body, headers=dict(req.headers.items()), timeout=10)


def error_of(call: Callable[[], Any]) -> tuple[str, str, int]:
    """(Code, Message, HTTP status) of the ClientError a boto3 call raises."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        call()
    r = info.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]
