"""Exception tree for the tokensim library.

    TokensimError                      base of everything raised on purpose
    ├── InputError (ValueError)        bad argument, URI, secret, QR image ...
    │   ├── InvalidURIError            an otpauth:// or device URL that does not parse
    │   │   └── OtpauthURIError        (tokens.uri) an otpauth:// URI: syntax, parameters, labels
    │   └── InvalidSecretError         not base32 / empty / too short
    ├── DeviceError                    a device could not do what was asked
    │   ├── DeviceNotEnrolledError     authenticate() before enroll() / after reset()
    │   ├── DeviceClosedError          use after close()
    │   └── UnsupportedOperationError  the device lacks the capability
    ├── StoreError                     the on-disk device store
    │   ├── DeviceNotFoundError        no device by that name (also a KeyError)
    │   └── DeviceExistsError          the name is taken
    └── ClockError                     the drift model was given impossible parameters

Later layers (verifier, FIDO2, serial driver) derive their own base from TokensimError, so
``except TokensimError`` at the CLI boundary turns every failure into one line.
"""

from __future__ import annotations


class TokensimError(Exception):
    """Base class of all tokensim errors."""


class InputError(TokensimError, ValueError):
    """Invalid input from a caller (argument, file, URI ...)."""


class InvalidURIError(InputError):
    """A URI that does not parse or is inconsistent."""


class InvalidSecretError(InputError):
    """A shared secret that is not valid base32 or is too short."""


class DeviceError(TokensimError):
    """A device could not perform an operation."""


class DeviceNotEnrolledError(DeviceError):
    """The device holds no credential to authenticate with."""


class DeviceClosedError(DeviceError):
    """The device was used after close()."""


class UnsupportedOperationError(DeviceError):
    """The device does not have the capability asked for."""


class StoreError(TokensimError):
    """The device store could not be read or written."""


class DeviceNotFoundError(StoreError, KeyError):
    """No device of that name in the store."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message plain
        return str(self.args[0]) if self.args else "device not found"


class DeviceExistsError(StoreError):
    """A device of that name already exists."""


class ClockError(TokensimError, ValueError):
    """Impossible clock or drift-model parameters."""
