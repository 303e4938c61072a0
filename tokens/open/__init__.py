"""Open any device by URL, like pyserial's ``serial_for_url``: one handler per scheme, each
validating its own URL and naming the form it expects when the URL is wrong.

    from tokens.open import open_device
    with open_device("sim-serial:?drift_ppm=20", reference=clock) as dev:
        enr = dev.enroll(EnrollRequest(account="alice"))
        code = dev.authenticate(AuthRequest()).code

Schemes (see docs/device-urls.md):

    virtual:NAME                      a device from the device store (changes saved back)
    totp:?secret=..&drift_ppm=..      an ad hoc virtual TOTP token (hotp:?secret=..&counter=..)
    otpauth://totp/...                a provisioning URI as a virtual token
    fido2-sim:NAME                    the software FIDO2 authenticator, state saved back on close
    fido2-udp://HOST:PORT             any CTAPHID-over-UDP authenticator
    fido2-hid:[///dev/hidrawN]        a real USB FIDO2 key (the first one found without a path)
    serial:///dev/ttyACM0 or /dev/..  a serial token on a real port
    socket://HOST:PORT                a serial token reached over TCP
    sim-serial:?slots=..&drift_ppm=.. a simulated serial token on a new pty, stopped on close

Third parties add schemes with :func:`register_scheme`.  Handlers are imported only when their
scheme is used, so opening ``virtual:`` never imports fido2 or pyserial.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._imports import prefer_own
from ..clock import Clock
from ..device import Device
from ..errors import InputError, InvalidURIError
from ._url import DeviceURL
from .context import OpenContext
from .interaction import (
    NoInteraction,
    ScriptedInteraction,
    TerminalInteraction,
    UserInteraction,
)

Handler = Callable[[DeviceURL, OpenContext], Device]


@dataclass(frozen=True)
class Scheme:
    """One URL scheme: its name, the form it expects, and its handler (a callable, or
    ``"module:function"`` imported on first use)."""

    name: str
    form: str
    summary: str
    handler: Handler | str
    options: tuple[str, ...] = ()  # keyword options of open_device the handler reads

    def resolve(self) -> Handler:
        if callable(self.handler):
            return self.handler
        mod, _, func = self.handler.partition(":")
        prefer_own()  # hw/firmware_sim from tokensim's install, never a same-named folder in the cwd
        fn: Handler = getattr(importlib.import_module(mod, __name__), func)
        return fn


_REGISTRY: dict[str, Scheme] = {}


def register_scheme(scheme: Scheme, *, replace: bool = False) -> None:
    key = scheme.name.lower()
    if key in _REGISTRY and not replace:
        raise InputError(f"scheme {key!r} is already registered")
    _REGISTRY[key] = scheme


def schemes() -> list[Scheme]:
    return list(_REGISTRY.values())


def known_schemes() -> str:
    return ", ".join(f"{s.name}:" for s in _REGISTRY.values())


for _s in (
    Scheme("virtual", "virtual:NAME", "a device from the device store", ".otp:open_virtual", ("store",)),
    Scheme("totp", "totp:?secret=BASE32&digits=6&period=30&algorithm=SHA1&drift_ppm=0&offset=0",
           "an ad hoc virtual TOTP token", ".otp:open_totp"),
    Scheme("hotp", "hotp:?secret=BASE32&counter=0&digits=6&algorithm=SHA1",
           "an ad hoc virtual HOTP token", ".otp:open_hotp"),
    Scheme("otpauth", "otpauth://totp/LABEL?secret=BASE32&...", "a provisioning URI as a virtual token",
           ".otp:open_otpauth"),
    Scheme("fido2-sim", "fido2-sim:NAME", "the software FIDO2 authenticator (state file NAME)",
           ".fido2:open_sim", ("pin", "home", "presence")),
    Scheme("fido2-udp", "fido2-udp://HOST:PORT", "any CTAPHID-over-UDP authenticator",
           ".fido2:open_udp", ("pin", "timeout", "reply_port")),
    Scheme("fido2-hid", "fido2-hid: or fido2-hid:///dev/hidrawN", "a USB FIDO2 key", ".fido2:open_hid",
           ("pin",)),
    Scheme("serial", "serial:///dev/ttyACM0 (or the bare path /dev/ttyACM0)",
           "a serial token on a port", ".serial:open_serial", ("pin", "timeout", "retries", "baudrate")),
    Scheme("socket", "socket://HOST:PORT", "a serial token over TCP", ".serial:open_socket",
           ("pin", "timeout", "retries")),
    Scheme("sim-serial", "sim-serial:?slots=4&drift_ppm=0&offset=0&button=false&serial=TS...",
           "a simulated serial token on a new pty", ".serial:open_sim", ("pin", "timeout", "retries")),
):
    register_scheme(_s)


def open_device(url: str, *, reference: Clock | None = None, interaction: UserInteraction | None = None,
                **options: Any) -> Device:
    """Open the device ``url`` names.  ``reference`` is the clock simulated devices read (default:
    the system clock); ``interaction`` answers PIN and touch prompts (default: nobody — no PIN);
    ``options`` are per-scheme extras (``pin=``, ``timeout=``, ``store=`` ...).

    Raises :class:`~tokens.errors.InvalidURIError` (one line, naming the expected form) for a bad
    URL, and the device family's own errors when the device cannot be reached."""
    parsed = DeviceURL.parse(url)
    scheme = _REGISTRY.get(parsed.scheme)
    if scheme is None:
        raise InvalidURIError(f"unknown device URL scheme {parsed.scheme!r} in {parsed.redacted()!r} "
                              f"(known: {known_schemes()})")
    unknown = sorted(set(options) - set(scheme.options))
    if unknown:
        raise InputError(f"{scheme.name}: unknown option(s) {', '.join(unknown)} "
                         f"(known: {', '.join(scheme.options) or 'none'})")
    ctx = OpenContext(reference=reference, interaction=interaction or NoInteraction(), options=options)
    return scheme.resolve()(parsed.expecting(scheme.form), ctx)


__all__ = ["DeviceURL", "Handler", "NoInteraction", "OpenContext", "Scheme", "ScriptedInteraction",
           "TerminalInteraction", "UserInteraction", "known_schemes", "open_device", "register_scheme",
           "schemes"]
