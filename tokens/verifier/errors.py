"""Errors of the verifier layer.

    TokensimError
    └── VerifierError                 anything the verifier refuses to do
        ├── UnknownCredentialError    no credential with that serial (also a KeyError)
        ├── CredentialExistsError     the serial is already registered
        ├── StoreSchemaError          the state store was written by an incompatible version
        ├── PostgresStoreError        the PostgreSQL store could not be reached or refused
        └── ImportFormatError         a PSKC file that cannot be read or decrypted

Sealed seeds that do not open raise :class:`tokens.keyring.KeyringError` (a StoreError).

Failed *authentications* are not errors: ``verify``/``enable``/``resync`` return a result with a
reason.  Errors are for misuse (unknown serial, duplicate registration, a broken store).
"""

from __future__ import annotations

from ..errors import TokensimError


class VerifierError(TokensimError):
    """Base class of the verifier layer."""


class UnknownCredentialError(VerifierError, KeyError):
    """No credential with that serial."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown credential"


class CredentialExistsError(VerifierError):
    """A credential with that serial is already registered."""


class StoreSchemaError(VerifierError):
    """The store's schema version is not one this code understands."""


class PostgresStoreError(VerifierError):
    """The PostgreSQL store could not be reached or refused an operation."""


class ImportFormatError(VerifierError):
    """A key container (PSKC) could not be parsed or decrypted."""
