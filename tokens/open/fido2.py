"""FIDO2 schemes: ``fido2-sim:NAME`` (the software authenticator from its state file, saved back on
close), ``fido2-udp://HOST:PORT`` (any CTAPHID-over-UDP authenticator through python-fido2's own
``CtapHidDevice``) and ``fido2-hid:`` / ``fido2-hid:///dev/hidrawN`` (a real USB key).

All three are :class:`tokens.fido2.device.Fido2Device` (makeCredential / getAssertion /
authenticatorGetInfo over ``Ctap2``); here they also ask the user-interaction hook for a PIN when the
authenticator has one and none was given, for consent before built-in UV, and announce "touch your
key" when the authenticator reports it is waiting for a touch (CTAPHID KEEPALIVE UPNEEDED).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fido2.ctap import STATUS, CtapDevice
from fido2.ctap2.pin import ClientPin

from ..device import DeviceInfo
from ..fido2.device import Fido2Device
from ..fido2.errors import Fido2DeviceError
from ._url import DeviceURL
from .context import OpenContext
from .interaction import NoInteraction, UserInteraction

if TYPE_CHECKING:
    from ..fido2.core import Authenticator


class PromptingCtapDevice(CtapDevice):
    """A CtapDevice wrapper that calls ``interaction.prompt_up()`` once per command when the
    authenticator says it is waiting for a touch."""

    def __init__(self, inner: CtapDevice, interaction: UserInteraction) -> None:
        self.inner, self.interaction = inner, interaction

    @property
    def capabilities(self) -> int:
        return int(self.inner.capabilities)

    def call(self, cmd: int, data: bytes = b"", event: threading.Event | None = None,
             on_keepalive: Callable[[STATUS], None] | None = None) -> bytes:
        prompted = False

        def keepalive(status: STATUS) -> None:
            nonlocal prompted
            if status == STATUS.UPNEEDED and not prompted:
                prompted = True
                self.interaction.prompt_up()
            if on_keepalive is not None:
                on_keepalive(status)

        return self.inner.call(cmd, data, event, keepalive)

    def close(self) -> None:
        self.inner.close()

    @classmethod
    def list_devices(cls) -> Iterator[CtapDevice]:
        return iter(())

    def __repr__(self) -> str:
        return repr(self.inner)


class InteractiveFido2Device(Fido2Device):
    """A Fido2Device whose PIN (when the authenticator has one and none was given) and UV consent come
    from the user-interaction hook."""

    def __init__(self, ctap_device: CtapDevice, *, interaction: UserInteraction | None = None,
                 url: str = "", **kw: Any) -> None:
        self.interaction = interaction or NoInteraction()
        self.url = url
        super().__init__(ctap_device, **kw)

    def _auth(self, rp_id: str, cdh: bytes, perm: ClientPin.PERMISSION,
              ) -> tuple[bytes | None, int | None, dict[str, bool]]:
        options = self.ctap2.info.options
        if self.pin is None and options.get("clientPin"):
            self.pin = self.interaction.request_pin(perm, rp_id)
        elif options.get("uv") and not (self.pin and options.get("clientPin")) \
                and not self.interaction.request_uv(perm, rp_id):
            raise Fido2DeviceError("user verification declined")
        try:
            return super()._auth(rp_id, cdh, perm)
        except Fido2DeviceError:
            self.pin = None  # a wrong PIN is asked again next time, never retried silently
            raise

    def info(self) -> DeviceInfo:
        i = super().info()
        return dataclasses.replace(i, details={**i.details, "url": self.url}) if self.url else i


class SimFido2Device(InteractiveFido2Device):
    """``fido2-sim:``: the software authenticator in this process.  It is
    :class:`~tokens.device.Simulated`: ``simulator`` is the authenticator core (its state, presence
    and clock), for tests."""

    def __init__(self, ctap_device: CtapDevice, *, authenticator: Authenticator, **kw: Any) -> None:
        self.authenticator = authenticator
        super().__init__(ctap_device, **kw)

    @property
    def simulator(self) -> Authenticator:
        return self.authenticator


def open_sim(url: DeviceURL, ctx: OpenContext) -> Fido2Device:
    from ..fido2.adapters.device import load_locked
    from ..fido2.softdevice import SoftCtapDevice

    url.no_query()
    name = url.name()
    home = ctx.options.get("home")  # the state directory ($TOKENSIM_HOME by default)
    base = None if home is None else Path(home)
    # like open_named: one writer per authenticator, its state saved on close
    auth, save = load_locked(name, base, presence=ctx.options.get("presence"), clock=ctx.reference)
    return SimFido2Device(SoftCtapDevice(auth), authenticator=auth, interaction=ctx.interaction,
                          pin=ctx.pin(), model="tokensim soft FIDO2", on_close=save, url=url.raw)


def open_udp(url: DeviceURL, ctx: OpenContext) -> Fido2Device:
    from ..fido2.udp import DEFAULT_REPLY_PORT, open_udp_device

    url.allow(("reply_port", "timeout"))
    host, port = url.host_port()
    reply_port = url.integer("reply_port", int(ctx.options.get("reply_port", DEFAULT_REPLY_PORT)), 0, 65535)
    timeout = url.number("timeout", float(ctx.options.get("timeout", 5.0)))
    if timeout <= 0:
        raise url.fail("timeout must be positive")
    hid = open_udp_device(host, port, reply_port, timeout)
    return InteractiveFido2Device(PromptingCtapDevice(hid, ctx.interaction), interaction=ctx.interaction,
                                  pin=ctx.pin(), model=hid.descriptor.product_name or "FIDO2 (UDP)",
                                  url=url.raw)


def open_hid(url: DeviceURL, ctx: OpenContext) -> Fido2Device:
    from fido2 import hid

    url.no_query()
    if url.netloc:
        raise url.fail(f"host {url.netloc!r} not allowed (use three slashes: fido2-hid:///dev/hidraw0)")
    try:
        found = hid.open_device(url.path) if url.path else next(iter(hid.list_devices()), None)
    except (OSError, ValueError) as e:
        raise Fido2DeviceError(f"cannot open FIDO2 key {url.path or '(first found)'}: {e} "
                               "(plugged in? readable? see 'tokensim hw list')") from None
    if found is None:
        raise Fido2DeviceError("no FIDO2 security key found (plugged in? readable? see 'tokensim hw list')")
    dev = found
    d = dev.descriptor
    path = d.path.decode() if isinstance(d.path, bytes) else str(d.path)
    model = " ".join(x for x in (d.product_name, f"({d.vid:04x}:{d.pid:04x})") if x)
    return InteractiveFido2Device(PromptingCtapDevice(dev, ctx.interaction), interaction=ctx.interaction,
                                  pin=ctx.pin(), model=model, url=f"fido2-hid://{path}")
