"""IAM actions, one module per entity group; :data:`ACTIONS` is the dispatch table.

Each handler takes ``(backend, request, caller)`` and returns the result members (or None for an
action without output); failures raise :class:`~tokens.awsserver.errors.AwsApiFault` with IAM's
code, message and status.
"""

from __future__ import annotations

from . import groups, login, mfa, policies, roles, simulate, users
from .common import Handler

ACTIONS: dict[str, Handler] = {
    **users.ACTIONS, **groups.ACTIONS, **roles.ACTIONS, **policies.ACTIONS, **login.ACTIONS, **mfa.ACTIONS,
    **simulate.ACTIONS,
}

__all__ = ["ACTIONS", "Handler"]
