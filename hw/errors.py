"""Errors of the serial driver.

    DeviceError (tokens.errors)
    └── HwError                      base of everything the serial stack raises
        ├── WireFormatError (ValueError)  bytes that do not follow the wire format (hw.protocol)
        │   ├── FrameError           bad COBS, too short/long, CRC mismatch
        │   └── PayloadError         a payload that does not match its record's layout
        │       └── BadValueError    right layout, a field value out of range
        ├── LinkConfigError (InputError)  impossible driver settings (retries, timeout)
        ├── PortError                the port cannot be opened (missing, busy, permission)
        ├── NotResponding            no valid reply after every retry
        ├── Unplugged                the port went away (read/write failed, cable pulled)
        ├── MalformedReply           a reply with a good CRC but a payload that does not parse
        └── ProtocolError            the device answered with an error status (.status, .code)
            ├── PinError             wrong admin PIN (.retries_left) or PIN blocked
            ├── SlotEmptyError       no credential in that slot (also DeviceNotEnrolledError)
            └── TimeNotSetError      the RTC lost its time (battery) — send SET_TIME
"""

from __future__ import annotations

from tokens.errors import DeviceNotEnrolledError, InputError

from .protocol.commands import Status
from .protocol.errors import BadValueError, FrameError, HwError, PayloadError, WireFormatError

_MEANING = {
    Status.ERR_UNKNOWN_CMD: "the device does not know this command",
    Status.ERR_BAD_LENGTH: "the device rejected the payload length",
    Status.ERR_BAD_PARAM: "the device rejected a parameter",
    Status.ERR_BAD_VERSION: "the device speaks another protocol version",
    Status.ERR_BUSY: "the device is busy",
    Status.ERR_SLOT_RANGE: "no such slot on this device",
    Status.ERR_SLOT_EMPTY: "the slot holds no credential",
    Status.ERR_COUNTER_EXHAUSTED: "the HOTP slot has used its last counter value; provision it again",
    Status.ERR_PIN_WRONG: "wrong admin PIN",
    Status.ERR_PIN_BLOCKED: "the admin PIN is blocked (too many wrong attempts); only a factory reset helps",
    Status.ERR_LOCKED: "provisioning is locked on this device; factory reset to provision again",
    Status.ERR_TIME_NOT_SET: "the device clock is not set (new battery?); run set-time",
    Status.ERR_TIME_BACKWARDS: "the device refuses to move its clock backwards (set the FORCE flag: --force)",
    Status.ERR_BATTERY: "the device's clock battery is dead",
    Status.ERR_BUTTON_TIMEOUT: "the button was not pressed in time",
    Status.ERR_INTERNAL: "internal device error",
}


class LinkConfigError(HwError, InputError):
    """Impossible link settings (negative retries, a timeout that is not positive)."""


class PortError(HwError):
    """The serial port could not be opened."""


class NotResponding(HwError):
    """No valid reply within the timeout, after every retry."""


class Unplugged(HwError):
    """The serial port went away."""


class MalformedReply(HwError):
    """A CRC-correct reply whose payload does not parse."""


class ProtocolError(HwError):
    """The device answered with an error status; ``code`` is the raw status byte."""

    def __init__(self, code: int, payload: bytes = b"", command: str = "") -> None:
        self.code = code
        self.status = Status.of(code)
        self.payload = payload
        self.command = command
        meaning = _MEANING.get(self.status, "unknown error")
        where = f"{command}: " if command else ""
        super().__init__(f"{where}{meaning} ({self.status.name}, 0x{code:02x})")


class PinError(ProtocolError):
    def __init__(self, code: int, payload: bytes = b"", command: str = "") -> None:
        super().__init__(code, payload, command)
        self.retries_left = payload[0] if self.status == Status.ERR_PIN_WRONG and payload else 0
        if self.status == Status.ERR_PIN_WRONG:
            self.args = (f"{self.args[0]}; {self.retries_left} attempt(s) left",)


class SlotEmptyError(ProtocolError, DeviceNotEnrolledError):
    pass


class TimeNotSetError(ProtocolError):
    pass


def error_for(code: int, payload: bytes = b"", command: str = "") -> ProtocolError:
    status = Status.of(code)
    if status in (Status.ERR_PIN_WRONG, Status.ERR_PIN_BLOCKED):
        return PinError(code, payload, command)
    if status == Status.ERR_SLOT_EMPTY:
        return SlotEmptyError(code, payload, command)
    if status == Status.ERR_TIME_NOT_SET:
        return TimeNotSetError(code, payload, command)
    return ProtocolError(code, payload, command)


__all__ = ["BadValueError", "FrameError", "HwError", "LinkConfigError", "MalformedReply", "NotResponding",
           "PayloadError", "PinError", "PortError", "ProtocolError", "SlotEmptyError", "TimeNotSetError",
           "Unplugged", "WireFormatError", "error_for"]
