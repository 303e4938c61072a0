"""A serial-attached OTP token (real or simulated) behind the :class:`tokens.device.Device` interface.

    with SerialToken.open("/dev/ttyACM0", pin="123456") as tok:        # or socket://127.0.0.1:7000
        enr = tok.enroll(EnrollRequest(slot=0, account="alice", rp_id="example.com"))
        code = tok.authenticate(AuthRequest(slot=0)).code

``enroll`` provisions a slot (PROVISION): the seed comes from the request or is generated here,
because the token never gives a seed back.  ``authenticate`` asks the token for a code
(GET_CODE) and reports the device's own clock.  ``reset`` is FACTORY_RESET.
"""

from __future__ import annotations

import os
from typing import Any, Self

from tokens.device import (
    AuthRequest,
    Capability,
    Device,
    DeviceInfo,
    DeviceKind,
    EnrollRequest,
    OtpAuthentication,
    OtpEnrollment,
    OtpOptions,
    SlotState,
)
from tokens.errors import InputError
from tokens.otp import Algorithm, random_secret
from tokens.params import OtpParams, OtpType

from .errors import MalformedReply, PortError
from .link import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Link, Port
from .protocol.commands import (
    MAX_SEED,
    RESET_MAGIC,
    Capabilities,
    Cmd,
    CodeReply,
    HashAlg,
    InfoReply,
    PayloadError,
    SetTimeRequest,
    SlotConfig,
    SlotInfo,
    SlotType,
    TimeReply,
    pin_payload,
)

FACTORY_PIN = "123456"
PIN_ENV = "TOKENSIM_HW_PIN"
_ALGS = {Algorithm.SHA1: HashAlg.SHA1, Algorithm.SHA256: HashAlg.SHA256, Algorithm.SHA512: HashAlg.SHA512}
_ALG_OF = {v: k for k, v in _ALGS.items()}
_TYPES = {OtpType.TOTP: SlotType.TOTP, OtpType.HOTP: SlotType.HOTP}
_TYPE_OF = {v: k for k, v in _TYPES.items()}


def open_port(url: str, *, timeout: float = DEFAULT_TIMEOUT, baudrate: int = 115200) -> Port:
    """Open a device path or any pyserial URL (``socket://``, ``loop://``, ``rfc2217://`` ...)."""
    import serial

    try:
        port: Port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=2.0)
    except (serial.SerialException, ValueError, OSError) as e:
        msg = str(e)
        hint = ""
        if "Permission denied" in msg or "Errno 13" in msg:
            hint = " (add yourself to the 'dialout' group, or install a udev rule for the token)"
        elif "No such file" in msg or "Errno 2" in msg:
            hint = " (is the token plugged in? see 'tokensim hw list')"
        raise PortError(f"cannot open serial port {url}: {msg}{hint}") from None
    return port


def _pin_bytes(pin: str | bytes | None) -> bytes:
    if pin is None:
        pin = os.environ.get(PIN_ENV) or FACTORY_PIN
    return pin.encode("utf-8") if isinstance(pin, str) else bytes(pin)


class SerialToken(Device):
    """Driver for a token speaking docs/serial-protocol.md."""

    def __init__(self, port: Port, *, pin: str | bytes | None = None, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, url: str = "") -> None:
        self.link = Link(port, timeout=timeout, retries=retries)
        self.url = url
        self._pin = _pin_bytes(pin)
        self._periods: dict[int, int] = {}  # TOTP period per slot, learnt from PROVISION / LIST_SLOTS
        try:
            self._info = self.get_info()
        except BaseException:
            self.link.close()
            raise

    @classmethod
    def open(cls, url: str, *, pin: str | bytes | None = None, timeout: float = DEFAULT_TIMEOUT,
             retries: int = DEFAULT_RETRIES) -> Self:
        return cls(open_port(url, timeout=timeout), pin=pin, timeout=timeout, retries=retries, url=url)

    # ------------------------------------------------------------------ protocol commands
    def _call(self, cmd: Cmd, payload: bytes = b"") -> bytes:
        self._check_open()
        return self.link.transact(cmd, payload).payload

    def _pin_for(self, pin: str | bytes | None) -> bytes:
        return self._pin if pin is None else _pin_bytes(pin)

    def get_info(self) -> InfoReply:
        try:
            return InfoReply.parse(self._call(Cmd.INFO))
        except PayloadError as e:
            raise MalformedReply(f"INFO reply does not parse: {e}") from None

    def get_time(self) -> TimeReply:
        try:
            return TimeReply.parse(self._call(Cmd.GET_TIME))
        except PayloadError as e:
            raise MalformedReply(f"GET_TIME reply does not parse: {e}") from None

    def set_time(self, t: float, *, force: bool = False, pin: str | bytes | None = None) -> TimeReply:
        """Set the device clock to ``t`` (Unix seconds); returns the time it showed before."""
        if not 0 <= t < 2**63 / 1000:
            raise InputError(f"time {t} out of range")
        req = SetTimeRequest(round(t * 1000), self._pin_for(pin), force)
        try:
            return TimeReply.parse(self._call(Cmd.SET_TIME, req.to_bytes()))
        except PayloadError as e:
            raise MalformedReply(f"SET_TIME reply does not parse: {e}") from None

    def provision(self, slot: int, secret: bytes, *, type: str = "totp", algorithm: Algorithm | str = "SHA1",
                  digits: int = 6, period: int = 30, counter: int = 0,
                  pin: str | bytes | None = None) -> None:
        otype = OtpType.parse(type)
        totp = otype is OtpType.TOTP
        params = OtpParams(otype, secret, Algorithm.parse(algorithm), digits, period if totp else 30,
                           0 if totp else counter)
        self.provision_params(slot, params, pin=pin)

    def provision_params(self, slot: int, params: OtpParams, *, pin: str | bytes | None = None) -> None:
        """PROVISION ``slot`` with an :class:`~tokens.params.OtpParams` (T0 must be 0)."""
        if not 0 <= slot < self._info.slots:
            raise InputError(f"slot {slot} out of range (this token has {self._info.slots} slots)")
        if len(params.secret) > MAX_SEED:
            raise InputError(f"the seed must be 10..{MAX_SEED} bytes")
        if params.t0 != 0:
            raise InputError("this token computes TOTP codes from T0 = 0")
        if params.is_totp and params.period > 3600:
            raise InputError("this token supports periods up to 3600 s")
        cfg = SlotConfig(slot, _TYPES[params.type], _ALGS[params.algorithm], params.digits,
                         params.period if params.is_totp else 0, params.counter, params.secret,
                         self._pin_for(pin))
        self._call(Cmd.PROVISION, cfg.to_bytes())
        self._periods[slot] = cfg.period

    def get_code(self, slot: int = 0) -> CodeReply:
        if not 0 <= slot <= 255:
            raise InputError(f"slot {slot} out of range")
        try:
            reply = CodeReply.parse(self._call(Cmd.GET_CODE, bytes((slot,))))
        except PayloadError as e:
            raise MalformedReply(f"GET_CODE reply does not parse: {e}") from None
        if reply.slot != slot:
            raise MalformedReply(f"GET_CODE for slot {slot} answered for slot {reply.slot}")
        return reply

    def list_slots(self) -> list[SlotInfo]:
        try:
            return SlotInfo.parse_list(self._call(Cmd.LIST_SLOTS))
        except PayloadError as e:
            raise MalformedReply(f"LIST_SLOTS reply does not parse: {e}") from None

    def slots(self) -> list[SlotState]:
        """The :class:`~tokens.device.HasSlots` capability: LIST_SLOTS as typed records."""
        out = []
        for s in self.list_slots():
            typ = _TYPE_OF.get(SlotType(s.type)) if s.type in (1, 2) else None
            if not s.provisioned or typ is None:
                out.append(SlotState(s.slot, s.provisioned))
                continue
            alg = _ALG_OF.get(HashAlg(s.algorithm)) if s.algorithm in (1, 2, 3) else None
            period = s.period if typ is OtpType.TOTP else None
            if period:
                self._periods[s.slot] = period
            out.append(SlotState(s.slot, True, typ, alg, s.digits, period))
        return out

    def _period(self, slot: int) -> int | None:
        if slot not in self._periods:
            self.slots()
        return self._periods.get(slot)

    def lock(self, pin: str | bytes | None = None) -> None:
        self._call(Cmd.LOCK, pin_payload(self._pin_for(pin)))

    def factory_reset(self) -> None:
        self._call(Cmd.FACTORY_RESET, RESET_MAGIC)

    # ------------------------------------------------------------------ Device interface
    @property
    def identity(self) -> str:
        return self._info.serial

    @property
    def kind(self) -> DeviceKind:
        return DeviceKind.SERIAL

    @property
    def capabilities(self) -> Capability:
        caps = self._info.capabilities
        out = Capability.SLOTS | Capability.PIN
        if caps & Capabilities.TOTP:
            out |= Capability.TOTP
        if caps & Capabilities.HOTP:
            out |= Capability.HOTP
        if caps & Capabilities.RTC:
            out |= Capability.CLOCK | Capability.SET_TIME
        if caps & Capabilities.BUTTON:
            out |= Capability.BUTTON
        if caps & Capabilities.SIMULATED:
            out |= Capability.SIMULATED
        return out

    def info(self) -> DeviceInfo:
        i = self.get_info() if not self.closed else self._info
        self._info = i
        return DeviceInfo(identity=i.serial, kind=self.kind, capabilities=self.capabilities, model=i.model,
                          firmware=i.firmware, details=info_details(i))

    def enroll(self, request: EnrollRequest | None = None) -> OtpEnrollment:
        self._check_open()
        req = request or EnrollRequest()
        opts = req.otp or OtpOptions()
        secret = req.secret if req.secret is not None else random_secret(opts.algorithm.digest_size)
        params = opts.params(secret, issuer=req.rp_id, account=req.account)
        self.provision_params(req.slot, params, pin=opts.pin)
        return OtpEnrollment(kind=self.kind, device_id=self.identity, params=params, slot=req.slot)

    def authenticate(self, request: AuthRequest | None = None) -> OtpAuthentication:
        self._check_open()
        slot = request.slot if request else 0
        r = self.get_code(slot)
        totp = r.type == SlotType.TOTP
        return OtpAuthentication(kind=self.kind, device_id=self.identity, code=r.code, type=_TYPE_OF[r.type],
                                 counter=r.counter,
                                 device_time=r.time_ms / 1000 if totp or r.time_ms else None,
                                 period=self._period(r.slot) if totp else None, slot=r.slot)

    def reset(self) -> None:
        self.factory_reset()

    def close(self) -> None:
        if not self.closed:
            self.link.close()
        super().close()


def info_details(i: InfoReply) -> dict[str, Any]:
    return {"protocol": i.protocol, "slots": i.slots, "max_frame": i.max_frame,
            "capabilities": [c.name for c in Capabilities if c and c in i.capabilities and c.name],
            "state": [s.name for s in type(i.state) if s and s in i.state and s.name],
            "pin_retries": i.pin_retries}
