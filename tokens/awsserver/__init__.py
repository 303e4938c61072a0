"""A local AWS endpoint where MFA really gates access (``tokensim aws serve``).

IAM and STS are tokensim's own (users, groups, roles, policies, virtual MFA devices verified by
:class:`tokens.verifier.Verifier`, sessions with their MFA context); every other service runs on
moto's in-process backends.  Every request is SigV4-verified and authorised by the policy engine.

Layers (see :mod:`.pipeline`): :mod:`.http` (request record, capped body) → :mod:`.sigv4` →
:mod:`.principal` → :mod:`.operations` (botocore models) → :mod:`.resources` → :mod:`.context` →
:mod:`.authz` / :mod:`.engine` (tokens.policy) → :mod:`.iam`, :mod:`.sts` | :mod:`.moto_bridge`
→ :mod:`.shapes`; :mod:`.app` (starlette) and :mod:`.server` (uvicorn, ready line) on top.
"""

from __future__ import annotations

from .backend import ADMIN_USER, DEFAULT_ACCOUNT, Backend
from .engine import NamedPolicy
from .errors import AwsApiFault, AwsServerError
from .server import AwsServer

__all__ = [
    "ADMIN_USER",
    "DEFAULT_ACCOUNT",
    "AwsApiFault",
    "AwsServer",
    "AwsServerError",
    "Backend",
    "NamedPolicy",
]
