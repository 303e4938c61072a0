"""The boto3 boundary: lazy import, client construction, and botocore errors → :mod:`.errors`.

boto3 is an optional extra, so nothing here imports it at module level.  Clients are kept as
``Any`` (boto3-stubs are a dev-only nicety) behind :class:`AwsClient`, whose :meth:`~AwsClient.call`
is the only place an AWS operation runs, so every failure leaves this module as an
:class:`~.errors.AwsError` with a one-line message.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from .errors import AwsApiError, AwsConfigError, AwsConnectionError, AwsError, AwsUnavailableError

DEFAULT_REGION = "us-east-1"
MISSING_BOTO3 = "boto3 is not installed; install the AWS extra: pip install 'tokensim[aws]'"


def load_boto3() -> Any:
    """``import boto3`` or a clear :class:`AwsUnavailableError`."""
    try:
        return importlib.import_module("boto3")
    except ImportError:
        raise AwsUnavailableError(MISSING_BOTO3) from None


@dataclass(frozen=True)
class AwsOptions:
    """Where and how to reach AWS (or a local peer such as moto)."""

    endpoint_url: str | None = None  # e.g. http://127.0.0.1:5000 for moto server
    profile: str | None = None  # source profile with long-term credentials
    region: str | None = None  # default: the profile's region, else us-east-1
    max_attempts: int = 3  # botocore total attempts (1 = no retry)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # explicit long-term keys (tests, local endpoints); None: the profile / default chain
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)  # with temporary credentials


def _translate(exc: Exception, service: str, operation: str) -> Exception:
    """Map a botocore/boto3 exception to an AwsError; other exceptions come back unchanged."""
    from botocore import exceptions as bx

    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        return AwsApiError(operation, str(err.get("Code") or "Unknown"), str(err.get("Message") or ""))
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        return AwsConnectionError(f"cannot reach the {service.upper()} endpoint ({operation}): {exc}")
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AwsConfigError(f"{exc} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or use --profile)")
    if isinstance(exc, bx.ProfileNotFound | bx.NoRegionError):
        return AwsConfigError(str(exc))
    if isinstance(exc, bx.BotoCoreError):
        return AwsError(f"{operation}: {exc}")
    return exc


class AwsClient:
    """One service client; ``call("GetSessionToken", ...)`` returns the response dict."""

    def __init__(self, service: str, raw: Any) -> None:
        self.service = service
        self.raw = raw  # the boto3 client (tests register botocore event hooks on it)

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore import xform_name

        method = getattr(self.raw, xform_name(operation))
        try:
            response = method(**params)
        except Exception as e:
            mapped = _translate(e, self.service, operation)
            if mapped is e:
                raise
            raise mapped from None
        return dict(response)


class AwsSession:
    """IAM and STS clients built from one boto3 session (created on first use)."""

    def __init__(self, options: AwsOptions | None = None) -> None:
        self.options = options or AwsOptions()
        self._session: Any = None
        self._clients: dict[str, AwsClient] = {}

    def with_credentials(self, access_key_id: str, secret_access_key: str,
                         session_token: str | None = None) -> AwsSession:
        """The same endpoint, region and retry settings, signed with other credentials (another user's
        access key, or temporary credentials from STS)."""
        from dataclasses import replace

        return AwsSession(replace(self.options, profile=None, access_key_id=access_key_id,
                                  secret_access_key=secret_access_key, session_token=session_token))

    def _boto_session(self) -> Any:
        if self._session is None:
            boto3 = load_boto3()
            try:
                o = self.options
                self._session = boto3.session.Session(
                    profile_name=o.profile, aws_access_key_id=o.access_key_id,
                    aws_secret_access_key=o.secret_access_key, aws_session_token=o.session_token)
            except Exception as e:
                mapped = _translate(e, "aws", "load profile")
                if mapped is e:
                    raise
                raise mapped from None
        return self._session

    @property
    def region(self) -> str:
        return self.options.region or self._boto_session().region_name or DEFAULT_REGION

    def client(self, service: str) -> AwsClient:
        if service not in self._clients:
            from botocore.config import Config

            o = self.options
            if o.max_attempts < 1:
                raise AwsConfigError("max_attempts must be at least 1")
            config = Config(retries={"max_attempts": o.max_attempts, "mode": "standard"},
                            connect_timeout=o.connect_timeout, read_timeout=o.read_timeout)
            try:
                raw = self._boto_session().client(service, region_name=self.region,
                                                  endpoint_url=o.endpoint_url, config=config)
            except ValueError as e:  # botocore rejects a malformed endpoint URL with ValueError
                raise AwsConfigError(f"invalid endpoint URL {o.endpoint_url!r}: {e}") from None
            except Exception as e:
                mapped = _translate(e, service, "create client")
                if mapped is e:
                    raise
                raise mapped from None
            self._clients[service] = AwsClient(service, raw)
        return self._clients[service]

    @property
    def iam(self) -> AwsClient:
        return self.client("iam")

    @property
    def sts(self) -> AwsClient:
        return self.client("sts")
