"""The token's real-time clock and the coin cell that keeps it running.

The RTC is a :class:`~tokens.clock.DriftingClock` (ppm, temperature, aging) read at the reference
clock's time.  When the battery dies the oscillator stops: the RTC keeps showing the time of death
and reports CLOCK_STOPPED.  A new battery restarts the RTC from 0 (1970-01-01), flagged as not set,
until the host sends SET_TIME.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokens.clock import DriftingClock


@dataclass
class Battery:
    """A coin cell installed at reference time ``installed_at`` lasting ``life`` seconds (None: forever)."""

    installed_at: float
    life: float | None = None
    low_fraction: float = 0.1

    def dead(self, t: float) -> bool:
        return self.life is not None and t >= self.installed_at + self.life

    def low(self, t: float) -> bool:
        return self.life is not None and t >= self.installed_at + self.life * (1 - self.low_fraction)

    @property
    def dies_at(self) -> float | None:
        return None if self.life is None else self.installed_at + self.life


class Rtc:
    """Device time (seconds) as the firmware reads it."""

    def __init__(self, clock: DriftingClock, battery: Battery | None = None, valid: bool = True) -> None:
        self.clock = clock
        self.battery = battery or Battery(installed_at=clock.reference.now())
        self.valid = valid

    def _ref(self) -> float:
        return self.clock.reference.now()

    @property
    def stopped(self) -> bool:
        return self.battery.dead(self._ref())

    @property
    def battery_low(self) -> bool:
        return self.battery.low(self._ref())

    def now(self) -> float:
        """Device time; frozen at the moment of death once the battery is dead."""
        t = self._ref()
        dies = self.battery.dies_at
        if dies is not None and t >= dies:
            return self.clock.device_time(dies)
        return self.clock.device_time(t)

    def set(self, device_time: float) -> None:
        self.clock.set_time(device_time)
        self.valid = True

    def replace_battery(self, life: float | None = None) -> None:
        """Fit a new cell: the oscillator restarts from 0 and the time must be set again."""
        now = self._ref()
        self.battery = Battery(installed_at=now, life=life, low_fraction=self.battery.low_fraction)
        self.clock.set_time(0.0, at=now)
        self.valid = False
