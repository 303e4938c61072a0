"""MFA verifier core: two-code enable and resync, windowed verify with drift-rate tracking,
atomic replay protection, throttling, and pluggable state stores (memory, SQLite).

    >>> from tokens.verifier import Verifier, MemoryStore
    >>> v = Verifier(MemoryStore())
    >>> _ = v.register("T1", b"12345678901234567890", at=0)
    >>> v.enable("T1", "287082", "359152", at=45).ok     # RFC 4226 codes of steps 1 and 2
    True
    >>> v.verify("T1", "359152", at=50).reason.value     # the same code again
    'replayed'
"""

from __future__ import annotations

from .core import Verifier
from .drift import DriftEstimate, estimate
from .errors import (
    CredentialExistsError,
    ImportFormatError,
    PostgresStoreError,
    StoreSchemaError,
    UnknownCredentialError,
    VerifierError,
)
from .memory import MemoryStore
from .model import Credential, Kind, Observation, Reason, Status, SyncResult, ThrottleState, VerifyResult
from .policy import DEFAULT_POLICY, Policy
from .sqlite import SQLiteStore
from .store import Store

__all__ = [
    "DEFAULT_POLICY", "Credential", "CredentialExistsError", "DriftEstimate", "ImportFormatError", "Kind",
    "MemoryStore", "Observation", "Policy", "PostgresStoreError", "Reason", "SQLiteStore", "Status", "Store",
    "StoreSchemaError", "SyncResult", "ThrottleState", "UnknownCredentialError", "Verifier",
    "VerifierError", "VerifyResult", "estimate",
]
