"""A software FIDO2 / CTAP 2.1 authenticator.

Layers, bottom up:
  keys, credentials, attestation, state     key material, wrapped credential IDs, the JSON state file
  clientpin, extensions, makecred, getassert, credmgmt, largeblobs, u2f   command handlers
  core.Authenticator                        request bytes -> response bytes, no I/O
  faults                                    relying-party fault injection (stacked signers)
  softdevice.SoftCtapDevice                 in-process transport: a fido2.ctap.CtapDevice
  ctaphid, udp                              CTAPHID framing and the UDP simulator transport
  device.Fido2Device                        the tokensim Device adapter over any CtapDevice
  platform                                  play the browser: WebAuthn options JSON -> response JSON
"""

from __future__ import annotations

from .attestation import AttestationMode, BatchAttestation
from .core import Authenticator
from .errors import CtapStatus, Fido2Error, StateFileError, TransportError
from .faults import BadSignature, CounterRegression, FlagOverride, WrongRpIdHash, clear, inject
from .keys import Alg
from .softdevice import SoftCtapDevice
from .state import AuthenticatorState, CounterMode, UvMode
from .user import AutoApprove, Biometric, Deny, Outcome, Scripted, WaitThenTimeout

__all__ = [
    "Alg", "AttestationMode", "Authenticator", "AuthenticatorState", "AutoApprove", "BadSignature",
    "BatchAttestation", "Biometric", "CounterMode", "CounterRegression", "CtapStatus", "Deny",
    "Fido2Error", "FlagOverride", "Outcome", "Scripted", "SoftCtapDevice", "StateFileError",
    "TransportError", "UvMode", "WaitThenTimeout", "WrongRpIdHash", "clear", "inject",
]
