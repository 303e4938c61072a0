"""Errors of the AWS layer, translated from botocore at the client boundary.

    TokensimError
    └── AwsError                        anything that went wrong talking to AWS (or moto)
        ├── AwsUnavailableError         boto3 is not installed (the ``tokensim[aws]`` extra)
        ├── AwsConfigError              unknown profile, no credentials, no region
        ├── AwsConnectionError          the endpoint could not be reached or timed out
        ├── AwsApiError                 the service refused: ``code`` (NoSuchEntity, AccessDenied ...)
        ├── QRCodeMismatchError         QRCodePNG unreadable or disagreeing with Base32StringSeed
        └── CredentialsFileError        the shared credentials file cannot be used safely
"""

from __future__ import annotations

from ..errors import TokensimError


class AwsError(TokensimError):
    """Base of the AWS layer's errors."""


class AwsUnavailableError(AwsError):
    """boto3 is missing."""


class AwsConfigError(AwsError):
    """Profile, credential or region configuration problem."""


class AwsConnectionError(AwsError):
    """The endpoint did not answer."""


class AwsApiError(AwsError):
    """The AWS API answered with an error code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation = operation
        self.code = code
        self.message = message
        text = f"{operation} failed: {code}"
        super().__init__(f"{text}: {message}" if message else text)


class QRCodeMismatchError(AwsError):
    """The QR code returned with a virtual MFA device does not carry the same seed."""


class CredentialsFileError(AwsError):
    """The shared credentials file is unreadable or the profile must not be overwritten."""
