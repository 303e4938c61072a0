"""Compatibility path: the state record is :mod:`tokens.fido2.authenticator.state`, its file store
:mod:`tokens.fido2.adapters.store`."""

from __future__ import annotations

from .adapters.store import InUse, create, load, names, save, state_path, store_dir
from .authenticator.state import AuthenticatorState, CounterMode, UvMode

__all__ = ["AuthenticatorState", "CounterMode", "InUse", "UvMode", "create", "load", "names", "save",
           "state_path", "store_dir"]
