"""Shared by the examples: clients for the endpoint, RFC 6238 codes, the endpoint's clock.

Everything AWS-side goes through boto3.  Two calls are tokensim's own (no AWS API has them):
``GET/POST {endpoint}/_tokensim/clock`` to read and move the endpoint's manual clock, and
``POST {endpoint}/_tokensim/signin`` to sign in as the console would.

Configuration, from the environment or the command line (``script.py ENDPOINT AKID SECRET``):
``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (the administrator's keys
from the ready line of ``tokensim aws serve --clock manual``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

POLICIES = Path(__file__).parent / "policies"
ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else os.environ["AWS_ENDPOINT_URL"]
ADMIN = (sys.argv[2] if len(sys.argv) > 2 else os.environ["AWS_ACCESS_KEY_ID"],
         sys.argv[3] if len(sys.argv) > 3 else os.environ["AWS_SECRET_ACCESS_KEY"])


def client(service: str, creds: Any = None) -> Any:
    """A boto3 client with the admin's keys, an access key dict, or STS Credentials."""
    if creds is None:
        key, secret, token = ADMIN[0], ADMIN[1], None
    else:
        key, secret, token = creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")
    return boto3.client(service, endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": 1}))


def policy(name: str) -> str:
    return (POLICIES / name).read_text()


def document(*statements: dict[str, Any]) -> str:
    """A policy document (JSON text) of these statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _tokensim(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ENDPOINT + path, data=data, method="GET" if body is None else "POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        out: dict[str, Any] = json.load(r)
    return out


def now() -> float:
    return float(_tokensim("/_tokensim/clock")["now"])


def advance(seconds: float) -> None:
    _tokensim("/_tokensim/clock", {"advance": seconds})


def signin(user: str, password: str, mfa_code: str | None = None) -> dict[str, Any]:
    return _tokensim("/_tokensim/signin", {"user": user, "password": password, "mfa_code": mfa_code})


def totp(seed_b32: bytes | str, t: float) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s) at time ``t``."""
    seed = seed_b32.decode() if isinstance(seed_b32, bytes) else seed_b32
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t // 30)), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def denied(call: Any, *args: Any, **kw: Any) -> str:
    """Run a call that must be refused; returns the error code."""
    try:
        call(*args, **kw)
    except ClientError as e:
        code: str = e.response["Error"]["Code"]
        return code
    raise SystemExit(f"FAIL: {getattr(call, '__name__', call)} was allowed but should be denied")


def check(cond: bool, what: str) -> None:
    if not cond:
        raise SystemExit(f"FAIL: {what}")
    print(f"ok   {what}")


def new_user(name: str, *, group: str | None = None, keys: bool = True) -> dict[str, Any] | None:
    iam = client("iam")
    iam.create_user(UserName=name)
    if group:
        iam.add_user_to_group(GroupName=group, UserName=name)
    return iam.create_access_key(UserName=name)["AccessKey"] if keys else None


def enroll(user_creds: dict[str, Any], user: str) -> tuple[str, bytes]:
    """The user creates and enables a virtual MFA device named after itself (two consecutive codes)."""
    iam = client("iam", user_creds)
    vmfa = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    seed, serial = vmfa["Base32StringSeed"], vmfa["SerialNumber"]
    t = now()
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1=totp(seed, t - 30),
                          AuthenticationCode2=totp(seed, t))
    advance(30)  # the next code is fresh (a code is never accepted twice)
    return serial, seed
