"""A real endpoint on loopback (uvicorn in a thread, free port) sharing a ManualClock with the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from tokens.awsserver import AwsServer
from tokens.clock import DriftModel, ManualClock
from tokens.otp import decode_secret
from tokens.virtual import VirtualTOTP

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a TOTP step boundary


@dataclass
class Aws:
    server: AwsServer
    clock: ManualClock

    def client(self, service: str, key: str = "testing", secret: str = "testing", token: str | None = None,
               validate: bool = True) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.server.url, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                            config=Config(retries={"max_attempts": 1}, parameter_validation=validate,
                                          connect_timeout=5, read_timeout=10))

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    def session_client(self, service: str, creds: dict[str, Any]) -> Any:
        return self.client(service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    def new_device(self, user: str = "alice", name: str | None = None,
                   drift: DriftModel | None = None) -> tuple[str, VirtualTOTP]:
        """CreateVirtualMFADevice and a VirtualTOTP holding its seed, on the shared clock."""
        vmfa = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name or user)["VirtualMFADevice"]
        token = VirtualTOTP(decode_secret(vmfa["Base32StringSeed"].decode("ascii")), reference=self.clock,
                            drift=drift)
        return vmfa["SerialNumber"], token

    def enrolled(self, user: str = "alice", drift: DriftModel | None = None) -> tuple[str, VirtualTOTP]:
        """A user with an enabled virtual MFA device; the clock moves on to the step after the codes."""
        self.iam.create_user(UserName=user)
        serial, token = self.new_device(user, drift=drift)
        c1, c2 = token.consecutive(2)
        self.iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1=c1,
                                   AuthenticationCode2=c2)
        self.clock.advance(60)  # past the second code's step: the next code is fresh
        return serial, token


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[Aws]:
    clock = ManualClock(T0)
    server = AwsServer(tmp_path / "aws.sqlite3", clock=clock)
    with server:
        yield Aws(server, clock)


def error_of(call: Callable[[], Any]) -> tuple[str, str, int]:
    """(Code, Message, HTTP status) of the ClientError a boto3 call raises."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        call()
    r = info.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]
