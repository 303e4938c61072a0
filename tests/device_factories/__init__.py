"""Device factories for the conformance suite (tests/test_device_conformance.py).

Each module here defines ``FACTORIES: list[DeviceFactory]``.  A new device family plugs into the
conformance suite by adding one module; every test there then runs against it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

from tokens.clock import ManualClock
from tokens.device import Authentication, AuthRequest, Device, Enrollment, EnrollRequest


@dataclass
class DeviceFactory:
    id: str
    # build a fresh, independent device whose clock (if any) reads ``clock``
    make: Callable[[ManualClock], Device]
    # independent check: does ``auth`` prove possession of ``enrollment``? (pyotp, fido2.server ...)
    check: Callable[[Enrollment, Authentication, ManualClock], bool]
    enroll_request: EnrollRequest = field(default_factory=EnrollRequest)
    auth_request: Callable[[Enrollment, ManualClock], AuthRequest] = (
        lambda e, clock: AuthRequest(at=clock.now(), credential_id=e.credential_id or None)
    )
    # seconds to move the reference clock between two authentications (TOTP: one period)
    step_seconds: float = 30.0


def all_factories() -> list[DeviceFactory]:
    found: list[DeviceFactory] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(getattr(mod, "FACTORIES", []))
    return found
