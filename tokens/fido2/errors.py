"""Errors of the FIDO2 layer.

    TokensimError
    └── Fido2Error                  anything the software authenticator layer raises on purpose
        ├── CtapStatus              a CTAP2 command ended with a non-zero status (``code``)
        ├── TransportError          the CTAPHID/UDP transport failed (timeout, wrong channel ...)
        ├── StateFileError          the persisted authenticator state is missing or unreadable
        └── Fido2DeviceError        (also a DeviceError) a Device-interface call got a CTAP error

Inside the authenticator core a bad request raises :class:`CtapStatus`; the dispatcher turns it into
the one-byte status of the response, so callers of ``Authenticator.process`` never see exceptions.
"""

from __future__ import annotations

from fido2.ctap import CtapError

from ..errors import DeviceError, StoreError, TokensimError

ERR = CtapError.ERR


class Fido2Error(TokensimError):
    """Base of the FIDO2 layer's errors."""


class CtapStatus(Fido2Error):
    """A CTAP status code raised inside the authenticator core."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        try:
            name = ERR(code).name
        except ValueError:
            name = f"0x{code:02X}"
        super().__init__(f"CTAP2 {name}" + (f": {detail}" if detail else ""))


class TransportError(Fido2Error):
    """The CTAPHID transport failed."""


class StateFileError(Fido2Error, StoreError):
    """The authenticator state file could not be read."""


class Fido2DeviceError(Fido2Error, DeviceError):
    """A FIDO2 device (soft or real) answered a Device-interface call with a CTAP error."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
