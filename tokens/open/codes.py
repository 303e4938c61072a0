"""Consecutive OTP codes from any device opened by URL — what two-code enrollment needs (AWS
EnableMFADevice, ``verifier enroll``) — without knowing the device's secret.

A virtual device computes several codes at once.  An HOTP device is pressed twice.  A TOTP device
shows one code per step, so the second code needs the next step: for a simulated device driven by
a :class:`~tokens.clock.ManualClock`, the clock is advanced one period; a device with its own clock
(real hardware, a simulator in another process) is waited for until its next step begins, at most
one period plus a margin, through the injected ``sleep``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..clock import ManualClock
from ..device import AuthRequest, Capability, Device, OtpAuthentication
from ..errors import DeviceError, InputError, UnsupportedOperationError
from ..params import OtpType

MARGIN = 0.3  # seconds past the device's step boundary before asking for the next code


def otp_code(dev: Device, request: AuthRequest) -> OtpAuthentication:
    """``dev.authenticate(request)``, which must be an OTP code."""
    auth = dev.authenticate(request)
    if not isinstance(auth, OtpAuthentication):
        raise UnsupportedOperationError(f"a {dev.kind.value} device shows no OTP codes")
    return auth


def consecutive_codes(dev: Device, n: int = 2, *, reference: ManualClock | None = None, slot: int = 0,
                      sleep: Callable[[float], None] = time.sleep,
                      notify: Callable[[str], None] | None = None) -> list[OtpAuthentication]:
    """``n`` proofs for consecutive counters / TOTP steps, each an :class:`OtpAuthentication`."""
    if n < 1:
        raise InputError("n must be at least 1")
    if not dev.capabilities & (Capability.TOTP | Capability.HOTP):
        raise UnsupportedOperationError(f"a {dev.kind.value} device shows no OTP codes")
    at = reference.now() if reference is not None else None
    out = [otp_code(dev, AuthRequest(at=at, slot=slot))]
    if out[0].type is OtpType.HOTP:
        out += [otp_code(dev, AuthRequest(at=at, slot=slot)) for _ in range(n - 1)]
        return out
    period = out[0].period or 30
    while len(out) < n:
        last = out[-1]
        want = last.counter + 1
        if reference is not None:  # to just past the next step boundary of the device's clock
            dt = last.device_time
            reference.advance(period - dt % period + MARGIN if dt is not None else period)
        auth = otp_code(dev, AuthRequest(at=reference.now() if reference else None, slot=slot))
        if auth.counter == want - 1 and auth.device_time is not None:  # the device keeps its own time
            wait = min(period - auth.device_time % period + MARGIN, period + MARGIN)
            if notify is not None:
                notify(f"waiting {wait:.0f} s for the device's next code")
            sleep(wait)
            auth = otp_code(dev, AuthRequest(at=reference.now() if reference else None, slot=slot))
        if auth.counter != want:
            raise DeviceError(f"expected the code for step {want}, the device showed step {auth.counter} "
                              "(is its clock running?)")
        out.append(auth)
    return out
