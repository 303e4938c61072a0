"""tokensim: simulate MFA hardware (TOTP/HOTP tokens, FIDO2 authenticators, serial tokens) and
verify what it produces."""

from __future__ import annotations

from .clock import (
    Clock,
    ConstantTemperature,
    DriftingClock,
    DriftModel,
    ManualClock,
    PiecewiseTemperature,
    SinusoidalTemperature,
    SystemClock,
    TemperatureProfile,
)
from .device import (
    Authentication,
    AuthRequest,
    Capability,
    Device,
    DeviceInfo,
    DeviceKind,
    Enrollment,
    EnrollRequest,
    Fido2Authentication,
    Fido2Enrollment,
    Fido2Options,
    OtpAuthentication,
    OtpEnrollment,
    OtpOptions,
)
from .errors import TokensimError
from .open import open_device
from .params import OtpParams, OtpType

__version__ = "0.1.0"

__all__ = [
    "AuthRequest",
    "Authentication",
    "Capability",
    "Clock",
    "ConstantTemperature",
    "Device",
    "DeviceInfo",
    "DeviceKind",
    "DriftModel",
    "DriftingClock",
    "EnrollRequest",
    "Enrollment",
    "Fido2Authentication",
    "Fido2Enrollment",
    "Fido2Options",
    "ManualClock",
    "OtpAuthentication",
    "OtpEnrollment",
    "OtpOptions",
    "OtpParams",
    "OtpType",
    "PiecewiseTemperature",
    "SinusoidalTemperature",
    "SystemClock",
    "TemperatureProfile",
    "TokensimError",
    "__version__",
    "open_device",
]
