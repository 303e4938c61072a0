"""Command layer: command/status codes and the request/response records of protocol version 1.

Every record has ``parse(bytes)`` (raising :class:`PayloadError` on a malformed payload) and
``to_bytes()``.  Integers are big-endian; strings and byte strings are length-prefixed (u8).
The byte layouts are documented in docs/serial-protocol.md §4.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag, unique
from typing import Self

from .errors import BadValueError as BadValueError  # re-exported: the records raise them
from .errors import PayloadError as PayloadError

PROTOCOL_VERSION = 1
RESPONSE_BIT = 0x80
RESET_MAGIC = b"RESET"
MIN_PIN, MAX_PIN = 4, 16
MIN_SEED, MAX_SEED = 10, 64
MAX_SLOTS = 16
U64_MAX = 2**64 - 1
#: the latest time SET_TIME accepts (9999-12-31T23:59:59.999Z in ms); later values: ERR_BAD_PARAM
MAX_TIME_MS = 253_402_300_799_999


@unique
class Cmd(IntEnum):
    INFO = 0x01
    GET_TIME = 0x02
    SET_TIME = 0x03
    PROVISION = 0x04
    GET_CODE = 0x05
    LIST_SLOTS = 0x06
    LOCK = 0x07
    FACTORY_RESET = 0x08


@unique
class Status(IntEnum):
    OK = 0x00
    PENDING = 0x01  # keepalive: the command is still running (waiting for the button)
    ERR_UNKNOWN_CMD = 0x10
    ERR_BAD_LENGTH = 0x11
    ERR_BAD_PARAM = 0x12
    ERR_BAD_VERSION = 0x13
    ERR_BUSY = 0x14
    ERR_SLOT_RANGE = 0x20
    ERR_SLOT_EMPTY = 0x21
    ERR_COUNTER_EXHAUSTED = 0x22  # an HOTP slot has used counter 2**64-1, its last value
    ERR_PIN_WRONG = 0x30
    ERR_PIN_BLOCKED = 0x31
    ERR_LOCKED = 0x32
    ERR_TIME_NOT_SET = 0x40
    ERR_TIME_BACKWARDS = 0x41
    ERR_BATTERY = 0x42
    ERR_BUTTON_TIMEOUT = 0x50
    ERR_INTERNAL = 0x7F
    UNKNOWN = 0xFF  # host-side fallback for a code this host does not know

    @classmethod
    def of(cls, code: int) -> Status:
        try:
            return cls(code)
        except ValueError:
            return cls.UNKNOWN


class Capabilities(IntFlag):
    NONE = 0
    TOTP = 0x0001
    HOTP = 0x0002
    RTC = 0x0004
    BUTTON = 0x0008  # GET_CODE waits for a button press
    PIN = 0x0010
    MONOTONIC_TIME = 0x0020  # SET_TIME refuses to move a valid clock backwards without FORCE
    BATTERY = 0x0040
    SIMULATED = 0x0080  # a software simulation, not a physical token


class DeviceState(IntFlag):
    NONE = 0
    TIME_VALID = 0x01
    LOCKED = 0x02  # provisioning lock set
    PIN_BLOCKED = 0x04
    BATTERY_LOW = 0x08
    CLOCK_STOPPED = 0x10  # battery dead: the RTC does not run


@unique
class SlotType(IntEnum):
    TOTP = 1
    HOTP = 2


@unique
class HashAlg(IntEnum):
    SHA1 = 1
    SHA256 = 2
    SHA512 = 3


# --------------------------------------------------------------------------- frame bodies


@dataclass(frozen=True)
class Request:
    """Host → device body: ``ver seq cmd payload``."""

    seq: int
    cmd: int
    payload: bytes = b""
    version: int = PROTOCOL_VERSION

    @classmethod
    def parse(cls, body: bytes) -> Self:
        if len(body) < 3:
            raise PayloadError("request shorter than its 3-byte header")
        if body[2] & RESPONSE_BIT:
            raise PayloadError("a response where a request was expected")
        return cls(version=body[0], seq=body[1], cmd=body[2], payload=bytes(body[3:]))

    def to_bytes(self) -> bytes:
        return bytes((self.version, self.seq & 0xFF, self.cmd)) + self.payload


@dataclass(frozen=True)
class Response:
    """Device → host body: ``ver seq cmd|0x80 status payload``."""

    seq: int
    cmd: int
    status: int
    payload: bytes = b""
    version: int = PROTOCOL_VERSION

    @classmethod
    def parse(cls, body: bytes) -> Self:
        if len(body) < 4:
            raise PayloadError("response shorter than its 4-byte header")
        if not body[2] & RESPONSE_BIT:
            raise PayloadError("a request where a response was expected")
        return cls(version=body[0], seq=body[1], cmd=body[2] & 0x7F, status=body[3],
                   payload=bytes(body[4:]))

    def to_bytes(self) -> bytes:
        return bytes((self.version, self.seq & 0xFF, self.cmd | RESPONSE_BIT, self.status)) + self.payload


# --------------------------------------------------------------------------- helpers


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PayloadError("payload too short")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u64(self) -> int:
        return int(struct.unpack(">Q", self.take(8))[0])

    def lp(self) -> bytes:
        return self.take(self.u8())

    def end(self) -> None:
        if self.pos != len(self.data):
            raise PayloadError(f"{len(self.data) - self.pos} unexpected trailing bytes")


def _lp(b: bytes) -> bytes:
    if len(b) > 255:
        raise PayloadError("length-prefixed field longer than 255 bytes")
    return bytes((len(b),)) + b


def _text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("string field is not UTF-8") from None


# --------------------------------------------------------------------------- payload records


@dataclass(frozen=True)
class InfoReply:
    """INFO response payload."""

    protocol: int
    max_frame: int
    slots: int
    capabilities: Capabilities
    state: DeviceState
    pin_retries: int
    model: str
    firmware: str
    serial: str

    @classmethod
    def parse(cls, p: bytes) -> Self:
        r = _Reader(p)
        protocol, max_frame, slots, caps, state, retries = r.u8(), r.u8(), r.u8(), r.u16(), r.u8(), r.u8()
        model, firmware, serial = _text(r.lp()), _text(r.lp()), _text(r.lp())
        r.end()
        return cls(protocol, max_frame, slots, Capabilities(caps), DeviceState(state), retries,
                   model, firmware, serial)

    def to_bytes(self) -> bytes:
        return (bytes((self.protocol, self.max_frame, self.slots)) + struct.pack(">H", self.capabilities)
                + bytes((self.state, self.pin_retries)) + _lp(self.model.encode())
                + _lp(self.firmware.encode()) + _lp(self.serial.encode()))


@dataclass(frozen=True)
class TimeReply:
    """GET_TIME response payload (and SET_TIME's: the time before the change)."""

    state: DeviceState
    time_ms: int

    @classmethod
    def parse(cls, p: bytes) -> Self:
        r = _Reader(p)
        out = cls(DeviceState(r.u8()), r.u64())
        r.end()
        return out

    def to_bytes(self) -> bytes:
        return bytes((self.state,)) + struct.pack(">Q", self.time_ms)


@dataclass(frozen=True)
class SetTimeRequest:
    FORCE = 0x01

    time_ms: int
    pin: bytes = field(repr=False)
    force: bool = False

    @classmethod
    def parse(cls, p: bytes) -> Self:
        r = _Reader(p)
        flags, t, pin = r.u8(), r.u64(), r.lp()
        r.end()
        return cls(time_ms=t, pin=pin, force=bool(flags & cls.FORCE))

    def to_bytes(self) -> bytes:
        return bytes((self.FORCE if self.force else 0,)) + struct.pack(">Q", self.time_ms) + _lp(self.pin)


@dataclass(frozen=True)
class SlotConfig:
    """PROVISION request payload: a slot's parameters, its seed and the admin PIN."""

    slot: int
    type: SlotType
    algorithm: HashAlg
    digits: int
    period: int
    counter: int
    seed: bytes = field(repr=False)
    pin: bytes = field(repr=False)

    @classmethod
    def parse(cls, p: bytes) -> Self:
        r = _Reader(p)
        slot, typ, alg, digits, period, counter = r.u8(), r.u8(), r.u8(), r.u8(), r.u16(), r.u64()
        seed, pin = r.lp(), r.lp()
        r.end()
        try:
            return cls(slot, SlotType(typ), HashAlg(alg), digits, period, counter, seed, pin)
        except ValueError as e:
            raise BadValueError(str(e)) from None

    def to_bytes(self) -> bytes:
        return (bytes((self.slot, self.type, self.algorithm, self.digits)) + struct.pack(">HQ", self.period,
                self.counter) + _lp(self.seed) + _lp(self.pin))


@dataclass(frozen=True)
class CodeReply:
    """GET_CODE response payload."""

    slot: int
    type: SlotType
    counter: int  # TOTP: the time step; HOTP: the counter value used
    time_ms: int  # device clock when the code was computed (0 for HOTP on a token without time)
    code: str

    @classmethod
    def parse(cls, p: bytes) -> Self:
        r = _Reader(p)
        slot, typ, counter, t, code = r.u8(), r.u8(), r.u64(), r.u64(), r.lp()
        r.end()
        if not code.isdigit():
            raise PayloadError("code is not decimal digits")
        try:
            return cls(slot, SlotType(typ), counter, t, code.decode("ascii"))
        except ValueError as e:
            raise PayloadError(str(e)) from None

    def to_bytes(self) -> bytes:
        return bytes((self.slot, self.type)) + struct.pack(">QQ", self.counter, self.time_ms) + \
            _lp(self.code.encode("ascii"))


@dataclass(frozen=True)
class SlotInfo:
    """One LIST_SLOTS entry (7 bytes).  Nothing secret: the seed is never readable."""

    PROVISIONED = 0x01

    slot: int
    provisioned: bool
    type: int = 0
    algorithm: int = 0
    digits: int = 0
    period: int = 0

    def to_dict(self) -> dict[str, int | str | bool]:
        if not self.provisioned:
            return {"slot": self.slot, "provisioned": False}
        typ = SlotType(self.type).name.lower() if self.type in (1, 2) else str(self.type)
        alg = HashAlg(self.algorithm).name if self.algorithm in (1, 2, 3) else str(self.algorithm)
        return {"slot": self.slot, "provisioned": True, "type": typ, "algorithm": alg, "digits": self.digits,
                "period": self.period}

    @classmethod
    def parse_list(cls, p: bytes) -> list[SlotInfo]:
        r = _Reader(p)
        n = r.u8()
        out = []
        for _ in range(n):
            slot, flags, typ, alg, digits, period = r.u8(), r.u8(), r.u8(), r.u8(), r.u8(), r.u16()
            out.append(cls(slot, bool(flags & cls.PROVISIONED), typ, alg, digits, period))
        r.end()
        return out

    @staticmethod
    def list_to_bytes(items: list[SlotInfo]) -> bytes:
        out = bytearray((len(items),))
        for s in items:
            out += bytes((s.slot, s.PROVISIONED if s.provisioned else 0, s.type, s.algorithm, s.digits))
            out += struct.pack(">H", s.period)
        return bytes(out)


def pin_payload(pin: bytes) -> bytes:
    """LOCK request payload."""
    return _lp(pin)


def parse_pin_payload(p: bytes) -> bytes:
    r = _Reader(p)
    pin = r.lp()
    r.end()
    return pin
