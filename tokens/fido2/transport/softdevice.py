"""The in-process transport: :class:`SoftCtapDevice` *is* a ``fido2.ctap.CtapDevice``.

``Fido2Client(SoftCtapDevice(authenticator), ...)`` and ``Ctap2(...)`` / ``Ctap1(...)`` drive the
software authenticator directly, without any HID framing: CBOR requests go to
``Authenticator.process``, MSG (U2F APDUs) to the U2F handler, PING echoes and WINK is a no-op.

One vendor command, ``VENDOR_POWER_CYCLE`` (0x41), simulates unplugging the key — a way to clear
PIN_AUTH_BLOCKED from another process talking CTAPHID/UDP.  It also reopens the 10 s reset window, so
``allow_power_cycle=False`` refuses it (``fido2 serve`` does unless given ``--allow-power-cycle``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from fido2.ctap import STATUS, CtapDevice, CtapError
from fido2.hid import CAPABILITY, CTAPHID

from ..authenticator.core import Authenticator

VENDOR_POWER_CYCLE = 0x41


class SoftCtapDevice(CtapDevice):
    def __init__(self, authenticator: Authenticator | None = None, *, allow_power_cycle: bool = True) -> None:
        self.authenticator = authenticator or Authenticator()
        self.allow_power_cycle = allow_power_cycle
        self.winks = 0

    @property
    def capabilities(self) -> int:
        return int(CAPABILITY.CBOR | CAPABILITY.WINK)

    def call(self, cmd: int, data: bytes = b"", event: threading.Event | None = None,
             on_keepalive: Callable[[STATUS], None] | None = None) -> bytes:
        if cmd == CTAPHID.CBOR:
            return self.authenticator.process(data, event, on_keepalive)
        if cmd == CTAPHID.MSG:
            return self.authenticator.process_u2f(data)
        if cmd == CTAPHID.PING:
            return data
        if cmd == CTAPHID.WINK:
            self.winks += 1
            return b""
        if cmd == VENDOR_POWER_CYCLE and self.allow_power_cycle:
            with self.authenticator._lock:
                self.authenticator.power_cycle()
            return b""
        raise CtapError(CtapError.ERR.INVALID_COMMAND)

    def __repr__(self) -> str:
        return f"SoftCtapDevice(aaguid={self.authenticator.state.aaguid.hex()})"

    @classmethod
    def list_devices(cls) -> Iterator[SoftCtapDevice]:
        """One fresh in-memory authenticator (there is nothing to discover in-process)."""
        yield cls()
