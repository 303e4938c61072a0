"""A software FIDO2 / CTAP 2.1 authenticator.

Folders, bottom up:
  authenticator/   the device model: services (credential store, PIN/UV token, user checks), one class
                   per command group, ``core.Authenticator`` (request bytes -> response bytes, no I/O),
                   faults (relying-party fault injection as stacked signers)
  transport/       softdevice.SoftCtapDevice (in-process ``fido2.ctap.CtapDevice``), CTAPHID framing,
                   the UDP simulator transport
  adapters/        device.Fido2Device (the tokensim Device over any CtapDevice), platform (play the
                   browser: WebAuthn options JSON -> response JSON), store (the JSON state files)

``tokens.fido2.core``, ``.device``, ``.softdevice``, ``.state``, ``.udp`` and ``.user`` remain as
import paths for the names they always held.
"""

from __future__ import annotations

from .authenticator.attestation import AttestationMode, BatchAttestation
from .authenticator.core import Authenticator
from .authenticator.credentials import CredentialRecord
from .authenticator.faults import BadSignature, CounterRegression, FlagOverride, WrongRpIdHash, clear, inject
from .authenticator.keys import Alg
from .authenticator.state import AuthenticatorState, CounterMode, UvMode
from .authenticator.user import AutoApprove, Biometric, Deny, Outcome, Scripted, WaitThenTimeout
from .errors import CtapStatus, Fido2Error, StateFileError, TransportError
from .transport.softdevice import SoftCtapDevice

__all__ = [
    "Alg", "AttestationMode", "Authenticator", "AuthenticatorState", "AutoApprove", "BadSignature",
    "BatchAttestation", "Biometric", "CounterMode", "CounterRegression", "CredentialRecord",
    "CtapStatus", "Deny",
    "Fido2Error", "FlagOverride", "Outcome", "Scripted", "SoftCtapDevice", "StateFileError",
    "TransportError", "UvMode", "WaitThenTimeout", "WrongRpIdHash", "clear", "inject",
]
