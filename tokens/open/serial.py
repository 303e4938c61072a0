"""Serial-token schemes: ``serial:///dev/ttyACM0`` (or a bare ``/dev/...`` path), ``socket://HOST:PORT``
and ``sim-serial:?...`` (a simulated token on a new pseudo-terminal, served by a runner thread in this
process and stopped when the device is closed).

The admin PIN (needed by PROVISION and SET_TIME) comes from the ``pin=`` option, else
``$TOKENSIM_HW_PIN``, else the user-interaction hook the first time a command needs it, else the
factory PIN.  Tokens with a button announce the wait through ``interaction.prompt_up()``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hw.errors import PinError
from hw.link import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Port
from hw.protocol.commands import Cmd
from hw.token import FACTORY_PIN, PIN_ENV, SerialToken, open_port

from ..device import AuthRequest, Capability, OtpAuthentication
from ..errors import ClockError
from ._url import DeviceURL
from .context import OpenContext
from .interaction import NoInteraction, UserInteraction

if TYPE_CHECKING:
    from firmware_sim.firmware import Firmware
    from firmware_sim.runner import PtyRunner


class UrlSerialToken(SerialToken):
    """:class:`hw.token.SerialToken` opened by URL: PIN and button prompts go through the interaction
    hook, and whatever the URL started (a simulator) is stopped on close."""

    def __init__(self, port: Port, *, interaction: UserInteraction | None = None, pin: str | None = None,
                 cleanup: list[Callable[[], None]] | None = None, **kw: Any) -> None:
        self._interaction = interaction or NoInteraction()
        self._pin_known = pin is not None or bool(os.environ.get(PIN_ENV))
        self._pin_asked = False  # the PIN came from the interaction (forget it when it is wrong)
        self._cleanup = list(cleanup or [])
        try:
            super().__init__(port, pin=pin, **kw)
        except BaseException:
            self._run_cleanup()
            raise

    def _pin_for(self, pin: str | bytes | None) -> bytes:
        if pin is None and not self._pin_known:
            answer = self._interaction.request_pin(None, f"serial token {self.identity}")
            if answer:
                self._pin, self._pin_known, self._pin_asked = answer.encode("utf-8"), True, True
        return super()._pin_for(pin)

    def _call(self, cmd: Cmd, payload: bytes = b"") -> bytes:
        try:
            return super()._call(cmd, payload)
        except PinError:
            if self._pin_asked:  # a mistyped PIN is asked again, never re-sent to burn retries
                self._pin = (os.environ.get(PIN_ENV) or FACTORY_PIN).encode("utf-8")
                self._pin_known = self._pin_asked = False
            raise

    def authenticate(self, request: AuthRequest | None = None) -> OtpAuthentication:
        if Capability.BUTTON in self.capabilities and not self.closed:
            self._interaction.prompt_up()
        return super().authenticate(request)

    def _run_cleanup(self) -> None:
        while self._cleanup:
            self._cleanup.pop()()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._run_cleanup()


def _port_options(ctx: OpenContext) -> tuple[float, int]:
    timeout = float(ctx.options.get("timeout", DEFAULT_TIMEOUT))
    retries = int(ctx.options.get("retries", DEFAULT_RETRIES))
    return timeout, retries


class SimSerialToken(UrlSerialToken):
    """``sim-serial:``: the driver on the pty of a simulator served from this process.  It is
    :class:`~tokens.device.Simulated`: ``simulator`` (also ``firmware``) is the token's firmware, for
    tests to press its button or age its battery; ``runner`` serves it."""

    def __init__(self, port: Port, *, firmware: Firmware, runner: PtyRunner, **kw: Any) -> None:
        self.firmware, self.runner = firmware, runner
        super().__init__(port, **kw)

    @property
    def simulator(self) -> Firmware:
        return self.firmware


def _open(target: str, ctx: OpenContext, *, baudrate: int = 115200,
          cleanup: list[Callable[[], None]] | None = None, pin: str | None = None,
          cls: Callable[..., UrlSerialToken] = UrlSerialToken, **extra: Any) -> UrlSerialToken:
    timeout, retries = _port_options(ctx)
    try:
        port = open_port(target, timeout=timeout, baudrate=baudrate)
    except BaseException:
        for fn in reversed(cleanup or []):
            fn()
        raise
    return cls(port, interaction=ctx.interaction, pin=pin if pin is not None else ctx.pin(),
               cleanup=cleanup, timeout=timeout, retries=retries, url=target, **extra)


def open_serial(url: DeviceURL, ctx: OpenContext) -> UrlSerialToken:
    url.no_query()
    if url.netloc:
        raise url.fail(f"host {url.netloc!r} not allowed (use three slashes: serial:///dev/ttyACM0)")
    if url.path in ("", "/"):
        raise url.fail("missing device path")  # serial:COM3 (no slash) names a Windows port
    baud = int(ctx.options.get("baudrate", 115200))
    return _open(url.path, ctx, baudrate=baud)


def open_socket(url: DeviceURL, ctx: OpenContext) -> UrlSerialToken:
    url.no_query()
    host, port = url.host_port()
    return _open(f"socket://{f'[{host}]' if ':' in host else host}:{port}", ctx)


SIM_PARAMS = ("slots", "drift_ppm", "offset", "serial", "button", "pin_retries", "battery_days")


def open_sim(url: DeviceURL, ctx: OpenContext) -> SimSerialToken:
    """Build a firmware, serve it on a pty from a thread, open the driver on the pty's slave."""
    from firmware_sim.build import make_firmware
    from firmware_sim.errors import SimConfigError
    from firmware_sim.runner import PtyRunner

    url.allow(SIM_PARAMS)
    if url.netloc or url.path not in ("", "/"):
        raise url.fail("the parameters go in the query string")
    pin = ctx.pin() or "123456"
    button = url.flag("button")
    days = url.number("battery_days", 0.0)
    if days < 0:
        raise url.fail("battery_days must not be negative")
    # URL errors raise here, once; the firmware's own checks below
    serial, slots = url.text("serial") or None, url.integer("slots", 4, 1, 16)
    drift_ppm, offset = url.number("drift_ppm", 0.0), url.number("offset", 0.0)
    pin_retries = url.integer("pin_retries", 5, 1, 255)
    try:
        fw = make_firmware(serial=serial, reference=ctx.reference, drift_ppm=drift_ppm, offset=offset,
                           slots=slots, pin=pin, pin_retries=pin_retries, button=button,
                           battery_life=days * 86400 if days else None)
    except (SimConfigError, ClockError) as e:  # the firmware's own parameter checks
        raise url.fail(str(e)) from None

    def simulated_finger() -> None:  # the simulated user presses the button whenever asked
        if fw.waiting_for_button:
            fw.press_button()

    runner = PtyRunner(fw, on_tick=simulated_finger if button else None).start()
    tok = _open(runner.url, ctx, cleanup=[runner.stop], pin=pin, cls=SimSerialToken, firmware=fw,
                runner=runner)
    assert isinstance(tok, SimSerialToken)
    return tok
