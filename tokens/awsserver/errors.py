"""Errors of the local IAM/STS endpoint.

    TokensimError
    └── AwsServerError                 the endpoint could not start or its state is unusable
        └── ApiError                   an AWS API error returned to the client as <ErrorResponse>
                                        (code, message, HTTP status, fault type)

ApiError never reaches the CLI: the app turns it into the XML error document botocore parses.
"""

from __future__ import annotations

from ..errors import TokensimError


class AwsServerError(TokensimError):
    """Base class of the endpoint's errors."""


class ApiError(AwsServerError):
    """An error response as AWS sends it: ``Code``, ``Message``, HTTP status, ``Sender``/``Receiver``."""

    def __init__(self, code: str, message: str, status: int = 400, fault: str = "Sender") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fault = fault


# Constructors for the errors the actions raise; messages follow what IAM and STS send.

def no_such_user(name: str) -> ApiError:
    return ApiError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)


def no_such_device(serial: str) -> ApiError:
    return ApiError("NoSuchEntity", f"VirtualMFADevice with serial number {serial} doesn't exist.", 404)


def invalid_code() -> ApiError:
    return ApiError("InvalidAuthenticationCode", "Authentication code for device is not valid.", 403)


def mfa_failed() -> ApiError:
    return ApiError("AccessDenied",
                    "MultiFactorAuthentication failed with invalid MFA one time pass code.", 403)


def mfa_unvalidated() -> ApiError:
    return ApiError("AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.", 403)


def validation(value: object, member: str, constraint: str) -> ApiError:
    return ApiError("ValidationError", f"1 validation error detected: Value '{value}' at '{member}' "
                    f"failed to satisfy constraint: {constraint}", 400)


def missing(member: str) -> ApiError:
    return ApiError("ValidationError", f"1 validation error detected: Value null at '{member}' failed to "
                    "satisfy constraint: Member must not be null", 400)
