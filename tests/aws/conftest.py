"""A real AWS-API peer for the AWS tests: moto in server mode on 127.0.0.1, reached by real boto3.

moto accepts any MFA code and sends random bytes as QRCodePNG, so the tests capture what the
client sends (botocore event hooks) and check the codes with pyotp themselves; ``aws_qr`` makes
moto's QRCodePNG a real QR code of the seed, as AWS does (``otpauth://totp/NAME@ACCOUNT?secret=...``).
"""

from __future__ import annotations

import io
import logging
import socket
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tokens._cli.main import main
from tokens.aws import AwsOptions, AwsSession

ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fake long-term credentials, us-east-1, and a private credentials file (returned)."""
    for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
              "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS", "AWS_REGION"):
        monkeypatch.delenv(k, raising=False)
    creds = tmp_path / "aws" / "credentials"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws" / "config"))
    return creds


@pytest.fixture
def moto_url(moto_server: str) -> str:
    """The server's URL, with every moto backend reset to empty."""
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    return moto_server


@pytest.fixture
def aws(moto_url: str) -> AwsSession:
    return AwsSession(AwsOptions(endpoint_url=moto_url, max_attempts=1))


@pytest.fixture
def down_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def qr_png(text: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=4, border=4)
    return buf.getvalue()


@pytest.fixture
def aws_qr(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[str, str, str], str]], None]:
    """``aws_qr(lambda name, account, seed: uri)`` — what moto's QRCodePNG encodes from now on."""
    from moto.iam import models

    original = models.VirtualMfaDevice.__init__

    def install(make_uri: Callable[[str, str, str], str]) -> None:
        def init(self: Any, account_id: str, region_name: str, device_name: str) -> None:
            original(self, account_id, region_name, device_name)
            name = device_name.rsplit("/", 1)[-1]
            self.qr_code_png = qr_png(make_uri(name, account_id, self.base32_string_seed))

        monkeypatch.setattr(models.VirtualMfaDevice, "__init__", init)

    return install


def aws_style_uri(name: str, account: str, seed: str) -> str:
    return f"otpauth://totp/{name}@{account}?secret={seed}"


@pytest.fixture
def capture() -> Callable[[AwsSession, str, str], list[dict[str, Any]]]:
    """``capture(aws, "iam", "EnableMFADevice")`` → list that fills with each call's parameters."""

    def install(aws: AwsSession, service: str, operation: str) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []

        def hook(params: dict[str, Any], **_: Any) -> None:
            seen.append(dict(params))

        aws.client(service).raw.meta.events.register(f"provide-client-params.{service}.{operation}", hook)
        return seen

    return install


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``tokensim ARGS``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            rc = main(list(args))
        except SystemExit as e:
            rc = int(e.code or 0)
        out, err = capsys.readouterr()
        return rc, out, err

    return run
