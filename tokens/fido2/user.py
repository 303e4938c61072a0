"""Compatibility path: see :mod:`tokens.fido2.authenticator.user`."""

from __future__ import annotations

from .authenticator.user import (
    AutoApprove,
    Biometric,
    Deny,
    KeepAlive,
    Outcome,
    Presence,
    Scripted,
    WaitThenTimeout,
    presence_for,
)

__all__ = ["AutoApprove", "Biometric", "Deny", "KeepAlive", "Outcome", "Presence", "Scripted",
           "WaitThenTimeout", "presence_for"]
