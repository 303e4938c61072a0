"""The serial token's firmware as a pure state machine over bytes.

``Firmware.feed(bytes) -> bytes`` takes whatever arrived on the wire and returns what the token
sends back; ``poll() -> bytes`` returns output that became due without input (keepalives while
waiting for the button, the button timeout, a reply completed by ``press_button``).  Time comes
only from the injected RTC's reference clock.  No sockets, no ptys, no threads: runners in
:mod:`firmware_sim.runner` put it behind a pseudo-terminal or a TCP socket, and
:mod:`firmware_sim.faults` wraps it to damage the byte stream.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from hw.protocol import framing
from hw.protocol.commands import (
    MAX_PIN,
    MAX_SEED,
    MAX_SLOTS,
    MAX_TIME_MS,
    MIN_PIN,
    MIN_SEED,
    PROTOCOL_VERSION,
    RESET_MAGIC,
    U64_MAX,
    BadValueError,
    Capabilities,
    Cmd,
    CodeReply,
    DeviceState,
    HashAlg,
    InfoReply,
    PayloadError,
    Request,
    Response,
    SetTimeRequest,
    SlotConfig,
    SlotInfo,
    SlotType,
    Status,
    TimeReply,
    parse_pin_payload,
)
from tokens.hotloop import PreparedKey

from .errors import SimConfigError
from .rtc import Rtc

FIRMWARE_VERSION = "1.0.0"
MODEL = "tokensim TS-1"
KEEPALIVE_INTERVAL = 0.1  # seconds of reference time between PENDING frames


@dataclass(frozen=True)
class FirmwareConfig:
    serial: str
    slots: int = 4
    pin: bytes = field(default=b"123456", repr=False)  # the factory admin PIN
    pin_retries: int = 5
    button: bool = False  # GET_CODE waits for a button press
    button_timeout: float = 10.0
    monotonic_time: bool = True  # refuse to move a valid clock backwards unless FORCE
    model: str = MODEL
    firmware: str = FIRMWARE_VERSION

    def __post_init__(self) -> None:
        if not 1 <= self.slots <= MAX_SLOTS:
            raise SimConfigError(f"slots must be 1..{MAX_SLOTS}")
        if not MIN_PIN <= len(self.pin) <= MAX_PIN:
            raise SimConfigError(f"the PIN must be {MIN_PIN}..{MAX_PIN} bytes")
        if not 1 <= self.pin_retries <= 255:
            raise SimConfigError("pin_retries must be 1..255")
        info = 3 + 2 + 2 + 3 + sum(len(x.encode()) for x in (self.serial, self.model, self.firmware))
        if info + 4 > framing.MAX_FRAME:  # the INFO reply must fit one frame
            raise SimConfigError("serial, model and firmware strings are too long for the INFO reply")


@dataclass
class _Slot:
    type: SlotType
    algorithm: HashAlg
    digits: int
    period: int
    counter: int
    key: PreparedKey = field(repr=False)


@dataclass
class _Pending:
    request: Request
    body: bytes
    deadline: float
    next_keepalive: float


_ALG_NAMES = {HashAlg.SHA1: "SHA1", HashAlg.SHA256: "SHA256", HashAlg.SHA512: "SHA512"}


class CommandError(Exception):
    def __init__(self, status: Status, payload: bytes = b"") -> None:
        super().__init__(status.name)
        self.status, self.payload = status, payload


class Firmware:
    """One token.  Not thread-safe: a runner drives it from one thread."""

    def __init__(self, config: FirmwareConfig, rtc: Rtc) -> None:
        self.config = config
        self.rtc = rtc
        self._decoder = framing.FrameDecoder()
        self._slots: list[_Slot | None] = [None] * config.slots
        self._retries = config.pin_retries
        self._locked = False
        self._out = bytearray()
        self._last: tuple[bytes, bytes] | None = None  # (request body, encoded response) for retries
        self._pending: _Pending | None = None
        self.internal_errors = 0  # replies that had to be ERR_INTERNAL (the fuzz suite wants 0)
        self._handlers: dict[int, Callable[[Request], bytes]] = {
            Cmd.INFO: self._info, Cmd.GET_TIME: self._get_time, Cmd.SET_TIME: self._set_time,
            Cmd.PROVISION: self._provision, Cmd.GET_CODE: self._get_code,
            Cmd.LIST_SLOTS: self._list_slots, Cmd.LOCK: self._lock, Cmd.FACTORY_RESET: self._factory_reset,
        }

    # ------------------------------------------------------------------ byte interface
    def feed(self, data: bytes) -> bytes:
        for body in self._decoder.feed(data):
            self._on_frame(body)
        return self.poll()

    def poll(self) -> bytes:
        p = self._pending
        if p is not None:
            now = self._ref()
            if now >= p.deadline:
                self._finish(p.request, p.body, self._error(p.request, Status.ERR_BUTTON_TIMEOUT))
            elif now >= p.next_keepalive:
                p.next_keepalive = now + KEEPALIVE_INTERVAL
                self._emit(Response(p.request.seq, p.request.cmd, Status.PENDING, b"\x01").to_bytes())
        out = bytes(self._out)
        self._out.clear()
        return out

    def wakeup(self) -> float | None:
        """Seconds until :meth:`poll` may have output without new input (None: only input)."""
        return KEEPALIVE_INTERVAL / 2 if self._pending is not None else None

    # ------------------------------------------------------------------ physical actions
    @property
    def waiting_for_button(self) -> bool:
        return self._pending is not None

    def press_button(self) -> bool:
        """The user presses the button; completes a waiting GET_CODE.  True if one was waiting."""
        p = self._pending
        if p is None:
            return False
        self._finish(p.request, p.body, self._run(p.request, self._compute_code))
        return True

    def replace_battery(self, life: float | None = None) -> None:
        self.rtc.replace_battery(life)

    # ------------------------------------------------------------------ introspection (tests)
    @property
    def serial(self) -> str:
        return self.config.serial

    def state(self) -> DeviceState:
        s = DeviceState.NONE
        stopped = self.rtc.stopped
        if self.rtc.valid and not stopped:
            s |= DeviceState.TIME_VALID
        if stopped:
            s |= DeviceState.CLOCK_STOPPED
        if self.rtc.battery_low:
            s |= DeviceState.BATTERY_LOW
        if self._locked:
            s |= DeviceState.LOCKED
        if self._retries == 0:
            s |= DeviceState.PIN_BLOCKED
        return s

    def capabilities(self) -> Capabilities:
        c = (Capabilities.TOTP | Capabilities.HOTP | Capabilities.RTC | Capabilities.PIN
             | Capabilities.BATTERY | Capabilities.SIMULATED)
        if self.config.button:
            c |= Capabilities.BUTTON
        if self.config.monotonic_time:
            c |= Capabilities.MONOTONIC_TIME
        return c

    # ------------------------------------------------------------------ dispatch
    def _ref(self) -> float:
        return self.rtc.clock.reference.now()

    def _emit(self, body: bytes) -> None:
        self._out += framing.encode_frame(body)

    def _error(self, req: Request, status: Status, payload: bytes = b"") -> bytes:
        return Response(req.seq, req.cmd, status, payload).to_bytes()

    def _finish(self, req: Request, body: bytes, reply: bytes) -> None:
        self._pending = None
        self._last = (body, framing.encode_frame(reply))
        self._out += self._last[1]

    def _on_frame(self, body: bytes) -> None:
        try:
            req = Request.parse(body)
        except PayloadError:
            return  # a response echoed back, or a runt: not for us
        if req.version != PROTOCOL_VERSION:
            self._emit(self._error(req, Status.ERR_BAD_VERSION, bytes((PROTOCOL_VERSION,))))
            return
        p = self._pending
        if p is not None:
            if p.body == body:  # the host retried while we wait for the button
                self._emit(Response(req.seq, req.cmd, Status.PENDING, b"\x01").to_bytes())
                return
            self._pending = None  # a new command cancels the waiting one
        if self._last is not None and self._last[0] == body:
            self._out += self._last[1]  # retry of the last command: same reply, not run twice
            return
        handler = self._handlers.get(req.cmd)
        if handler is None:
            self._finish(req, body, self._error(req, Status.ERR_UNKNOWN_CMD))
            return
        if req.cmd == Cmd.GET_CODE and self.config.button:
            try:
                self._check_code_request(req)
            except CommandError as e:
                self._finish(req, body, self._error(req, e.status, e.payload))
                return
            now = self._ref()
            self._pending = _Pending(req, body, now + self.config.button_timeout, now + KEEPALIVE_INTERVAL)
            self._emit(Response(req.seq, req.cmd, Status.PENDING, b"\x01").to_bytes())
            return
        self._finish(req, body, self._run(req, handler))

    def _run(self, req: Request, handler: Callable[[Request], bytes]) -> bytes:
        """The handler's reply; every failure becomes an error status, never an exception."""
        try:
            reply = Response(req.seq, req.cmd, Status.OK, handler(req)).to_bytes()
            framing.check_body(reply)
            return reply
        except CommandError as e:
            return self._error(req, e.status, e.payload)
        except BadValueError:
            return self._error(req, Status.ERR_BAD_PARAM)
        except PayloadError:
            return self._error(req, Status.ERR_BAD_LENGTH)
        except Exception:  # a firmware bug must not take the token off the wire: count it, answer
            self.internal_errors += 1
            return self._error(req, Status.ERR_INTERNAL)

    # ------------------------------------------------------------------ helpers
    def _check_pin(self, pin: bytes) -> None:
        if self._retries == 0:
            raise CommandError(Status.ERR_PIN_BLOCKED)
        if not hmac.compare_digest(pin, self.config.pin):
            self._retries -= 1
            if self._retries == 0:
                raise CommandError(Status.ERR_PIN_BLOCKED)
            raise CommandError(Status.ERR_PIN_WRONG, bytes((self._retries,)))
        self._retries = self.config.pin_retries

    def _slot_index(self, raw: int) -> int:
        if raw >= self.config.slots:
            raise CommandError(Status.ERR_SLOT_RANGE)
        return raw

    def _time_ms(self) -> int:
        """The RTC in whole ms, saturating at 0 and 2**64-1 (a u64 on the wire never wraps)."""
        ms = self.rtc.now() * 1000
        if not ms >= 0:  # negative or NaN
            return 0
        return U64_MAX if ms >= U64_MAX else min(U64_MAX, math.floor(ms))

    # ------------------------------------------------------------------ commands
    def _info(self, req: Request) -> bytes:
        if req.payload:
            raise PayloadError("INFO takes no payload")
        return InfoReply(PROTOCOL_VERSION, framing.MAX_FRAME, self.config.slots, self.capabilities(),
                         self.state(), self._retries, self.config.model, self.config.firmware,
                         self.config.serial).to_bytes()

    def _get_time(self, req: Request) -> bytes:
        if req.payload:
            raise PayloadError("GET_TIME takes no payload")
        return TimeReply(self.state(), self._time_ms()).to_bytes()

    def _set_time(self, req: Request) -> bytes:
        r = SetTimeRequest.parse(req.payload)
        if r.time_ms > MAX_TIME_MS:
            raise CommandError(Status.ERR_BAD_PARAM)
        self._check_pin(r.pin)
        if self.rtc.stopped:
            raise CommandError(Status.ERR_BATTERY)
        before = TimeReply(self.state(), self._time_ms())
        if (self.config.monotonic_time and self.rtc.valid and not r.force
                and r.time_ms < before.time_ms):
            raise CommandError(Status.ERR_TIME_BACKWARDS, before.to_bytes())
        self.rtc.set(r.time_ms / 1000)
        return before.to_bytes()

    def _provision(self, req: Request) -> bytes:
        c = SlotConfig.parse(req.payload)
        idx = self._slot_index(c.slot)
        self._check_pin(c.pin)
        if self._locked:
            raise CommandError(Status.ERR_LOCKED)
        if not (6 <= c.digits <= 8 and MIN_SEED <= len(c.seed) <= MAX_SEED):
            raise CommandError(Status.ERR_BAD_PARAM)
        if c.type == SlotType.TOTP and not 1 <= c.period <= 3600:
            raise CommandError(Status.ERR_BAD_PARAM)
        self._slots[idx] = _Slot(c.type, c.algorithm, c.digits, c.period if c.type == SlotType.TOTP else 0,
                                 c.counter if c.type == SlotType.HOTP else 0,
                                 PreparedKey(c.seed, _ALG_NAMES[c.algorithm]))
        return b""

    def _check_code_request(self, req: Request) -> _Slot:
        if len(req.payload) != 1:
            raise CommandError(Status.ERR_BAD_LENGTH)
        s = self._slots[self._slot_index(req.payload[0])]
        if s is None:
            raise CommandError(Status.ERR_SLOT_EMPTY)
        if s.type == SlotType.TOTP:
            if self.rtc.stopped:
                raise CommandError(Status.ERR_BATTERY)
            if not self.rtc.valid:
                raise CommandError(Status.ERR_TIME_NOT_SET)
        return s

    def _get_code(self, req: Request) -> bytes:
        return self._compute_code(req)

    def _compute_code(self, req: Request) -> bytes:
        s = self._check_code_request(req)
        ms = self._time_ms()
        if s.type == SlotType.TOTP:
            used = ms // (1000 * s.period)
        else:
            used = s.counter
            if used > U64_MAX:
                raise CommandError(Status.ERR_COUNTER_EXHAUSTED)
            s.counter += 1  # past U64_MAX only to mark the slot exhausted
            if not self.rtc.valid or self.rtc.stopped:
                ms = 0
        return CodeReply(req.payload[0], s.type, used, ms, s.key.code(used, s.digits)).to_bytes()

    def _list_slots(self, req: Request) -> bytes:
        if req.payload:
            raise PayloadError("LIST_SLOTS takes no payload")
        items = []
        for i, s in enumerate(self._slots):
            if s is None:
                items.append(SlotInfo(i, False))
            else:
                items.append(SlotInfo(i, True, s.type, s.algorithm, s.digits, s.period))
        return SlotInfo.list_to_bytes(items)

    def _lock(self, req: Request) -> bytes:
        self._check_pin(parse_pin_payload(req.payload))
        self._locked = True
        return b""

    def _factory_reset(self, req: Request) -> bytes:
        if req.payload != RESET_MAGIC:
            raise CommandError(Status.ERR_BAD_PARAM)
        self._slots = [None] * self.config.slots
        self._locked = False
        self._retries = self.config.pin_retries
        return b""
