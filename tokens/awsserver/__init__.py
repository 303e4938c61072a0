"""A local IAM/STS endpoint whose MFA codes are really verified (``tokensim aws serve``).

Layers: :mod:`.protocol` (query protocol in, XML out) → :mod:`.iam` / :mod:`.sts` (actions) →
:mod:`.backend` (the account: :mod:`.state` bookkeeping + :class:`tokens.verifier.Verifier`) →
:mod:`.app` (starlette) → :mod:`.server` (uvicorn, JSON ready line, signals).
"""

from __future__ import annotations

from .backend import DEFAULT_ACCOUNT, Backend
from .errors import ApiError, AwsServerError
from .server import AwsServer

__all__ = ["DEFAULT_ACCOUNT", "ApiError", "AwsServer", "AwsServerError", "Backend"]
