"""AWS IAM virtual-MFA enrollment and MFA sessions through boto3 (the optional ``tokensim[aws]`` extra).

    from tokens.aws import AwsOptions, AwsSession, device_session, enroll_virtual_mfa
    from tokens.store import DeviceStore

    aws = AwsSession(AwsOptions(endpoint_url="http://127.0.0.1:5000"))   # moto server, or None for AWS
    store = DeviceStore()
    enrolled = enroll_virtual_mfa(aws.iam, "alice", store=store)
    creds = device_session(aws.sts, store, "alice", at=time.time(), write_profile="alice-mfa",
                           wait=time.sleep)       # waits for a fresh code if the current one was used

Importing this package does not import boto3; the first AWS call does (AwsUnavailableError if absent).
"""

from __future__ import annotations

from .client import AwsClient, AwsOptions, AwsSession, load_boto3
from .credfile import credentials_path, read_profile, write_profile
from .enroll import (
    AwsMfaDevice,
    AwsMfaEnrollment,
    AwsMfaRemoval,
    QRCheck,
    aws_meta,
    disable_virtual_mfa,
    enroll_virtual_mfa,
    list_virtual_mfa,
    verify_qr_png,
)
from .errors import (
    AwsApiError,
    AwsConfigError,
    AwsConnectionError,
    AwsError,
    AwsUnavailableError,
    CredentialsFileError,
    QRCodeMismatchError,
)
from .session import (
    TemporaryCredentials,
    cached_session,
    fresh_code_time,
    get_mfa_session,
    session_to_profile,
)
from .stored import CodeAlreadyUsedError, device_session

__all__ = [
    "AwsApiError",
    "AwsClient",
    "AwsConfigError",
    "AwsConnectionError",
    "AwsError",
    "AwsMfaDevice",
    "AwsMfaEnrollment",
    "AwsMfaRemoval",
    "AwsOptions",
    "AwsSession",
    "AwsUnavailableError",
    "CodeAlreadyUsedError",
    "CredentialsFileError",
    "QRCheck",
    "QRCodeMismatchError",
    "TemporaryCredentials",
    "aws_meta",
    "cached_session",
    "credentials_path",
    "device_session",
    "disable_virtual_mfa",
    "enroll_virtual_mfa",
    "fresh_code_time",
    "get_mfa_session",
    "list_virtual_mfa",
    "load_boto3",
    "read_profile",
    "session_to_profile",
    "verify_qr_png",
    "write_profile",
]
