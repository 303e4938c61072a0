"""Convenience constructors: a token's firmware from a few parameters."""

from __future__ import annotations

import secrets

from tokens.clock import Clock, DriftingClock, DriftModel, SystemClock

from .firmware import Firmware, FirmwareConfig
from .rtc import Battery, Rtc


def new_serial() -> str:
    """A token serial number in the simulator's range: ``TS`` + 8 digits."""
    return f"TS{secrets.randbelow(10**8):08d}"


def make_firmware(*, serial: str | None = None, reference: Clock | None = None,
                  drift: DriftModel | None = None,
                  drift_ppm: float = 0.0, offset: float = 0.0, slots: int = 4, pin: str | bytes = "123456",
                  pin_retries: int = 5, button: bool = False, button_timeout: float = 10.0,
                  battery_life: float | None = None, monotonic_time: bool = True,
                  time_valid: bool = True) -> Firmware:
    """A firmware whose RTC reads ``reference`` through a drift model.

    Without ``drift``, the model is ``DriftModel(ppm=drift_ppm, offset=offset, epoch=now)``: the
    token shows reference time + ``offset`` now and drifts from there.
    """
    ref = reference or SystemClock()
    model = drift or DriftModel(ppm=drift_ppm, offset=offset, epoch=ref.now())
    rtc = Rtc(DriftingClock(model=model, reference=ref), Battery(installed_at=ref.now(), life=battery_life),
              valid=time_valid)
    cfg = FirmwareConfig(serial=serial or new_serial(), slots=slots,
                         pin=pin.encode() if isinstance(pin, str) else pin, pin_retries=pin_retries,
                         button=button, button_timeout=button_timeout, monotonic_time=monotonic_time)
    return Firmware(cfg, rtc)
