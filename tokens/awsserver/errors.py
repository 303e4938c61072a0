"""Errors of the local AWS endpoint.

    TokensimError
    └── AwsServerError                 the endpoint could not start or its state is unusable
        └── AwsApiFault                an AWS API error returned to the client in the service's own
                                        shape (query XML, EC2 XML, S3 XML, JSON): code, message,
                                        HTTP status, fault type (distinct from the client side's
                                        tokens.aws.AwsApiError, which is what a caller receives)

AwsApiFault never reaches the CLI: the app renders it as the error document botocore parses.
"""

from __future__ import annotations

from ..errors import TokensimError


class AwsServerError(TokensimError):
    """Base class of the endpoint's errors."""


class AwsApiFault(AwsServerError):
    """An error response as AWS sends it: ``Code``, ``Message``, HTTP status, ``Sender``/``Receiver``."""

    def __init__(self, code: str, message: str, status: int = 400, fault: str = "Sender") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fault = fault


# Constructors for the errors the actions raise; messages follow what IAM and STS send.

def no_such_entity(message: str) -> AwsApiFault:
    return AwsApiFault("NoSuchEntity", message, 404)


def no_such_user(name: str) -> AwsApiFault:
    return no_such_entity(f"The user with name {name} cannot be found.")


def no_such_device(serial: str) -> AwsApiFault:
    return no_such_entity(f"VirtualMFADevice with serial number {serial} doesn't exist.")


def already_exists(message: str) -> AwsApiFault:
    return AwsApiFault("EntityAlreadyExists", message, 409)


def limit_exceeded(message: str) -> AwsApiFault:
    return AwsApiFault("LimitExceeded", message, 409)


def delete_conflict(message: str) -> AwsApiFault:
    return AwsApiFault("DeleteConflict", message, 409)


def invalid_code() -> AwsApiFault:
    return AwsApiFault("InvalidAuthenticationCode", "Authentication code for device is not valid.", 403)


def mfa_failed() -> AwsApiFault:
    return AwsApiFault("AccessDenied",
                       "MultiFactorAuthentication failed with invalid MFA one time pass code.", 403)


def mfa_unvalidated() -> AwsApiFault:
    return AwsApiFault("AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code.", 403)


def _shown(value: object) -> str:
    """A value as AWS quotes it in a validation message: control characters escaped, length capped."""
    text = str(value)
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return text if len(text) <= 200 else text[:200] + "..."


def validation(value: object, member: str, constraint: str) -> AwsApiFault:
    return AwsApiFault("ValidationError", f"1 validation error detected: Value '{_shown(value)}' at "
                       f"'{member}' failed to satisfy constraint: {constraint}", 400)


def missing(member: str) -> AwsApiFault:
    return AwsApiFault("ValidationError", f"1 validation error detected: Value null at '{member}' failed to "
                       "satisfy constraint: Member must not be null", 400)


def malformed_policy(detail: str) -> AwsApiFault:
    return AwsApiFault("MalformedPolicyDocument", _shown(detail), 400)
