"""Errors of the firmware simulator's host side (runners, batch provisioning).

    TokensimError (tokens.errors)
    └── SimError         a simulator could not be built, served or provisioned
"""

from __future__ import annotations

from tokens.errors import TokensimError


class SimError(TokensimError):
    """The simulator could not be started or provisioned."""
