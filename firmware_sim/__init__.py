"""The serial token's firmware, simulated: a pure state machine over bytes (:mod:`.firmware`) with a
drifting, battery-backed RTC (:mod:`.rtc`), fault injection on the byte stream (:mod:`.faults`),
runners behind a pty or TCP socket (:mod:`.runner`), an in-process loopback port
(:mod:`.loopback`) and batch provisioning with PSKC seed files (:mod:`.batch`)."""

from __future__ import annotations

from .build import make_firmware, new_serial
from .faults import FaultPlan, FaultyEndpoint
from .firmware import Firmware, FirmwareConfig
from .rtc import Battery, Rtc
from .runner import PtyRunner, Runner, TcpRunner

__all__ = ["Battery", "FaultPlan", "FaultyEndpoint", "Firmware", "FirmwareConfig", "PtyRunner", "Rtc",
           "Runner", "TcpRunner", "make_firmware", "new_serial"]
