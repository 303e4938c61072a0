"""CTAPHID over UDP, following the SoloKeys simulator convention.

The authenticator listens on 127.0.0.1:8111 and sends its reports to 127.0.0.1:7112; each datagram
is one raw 64-byte CTAPHID report (no HID report ID).  Both ports are configurable, and
``reply_port=None`` makes the server answer whoever sent the last report (handy for tests and
benchmarks that bind ephemeral ports).

Client side: :class:`UdpCtapHidConnection` is a ``fido2.hid.base.CtapHidConnection``, so python-fido2's
own ``CtapHidDevice`` does the client framing — see :func:`open_udp_device`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from fido2.ctap import CtapDevice
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

from ...clock import Clock
from ..errors import TransportError
from .ctaphid import PACKET_SIZE, CtapHidServer

DEFAULT_PORT = 8111
DEFAULT_REPLY_PORT = 7112


class UdpCtapHidServer:
    """Serve a CtapDevice (normally a SoftCtapDevice) as CTAPHID over UDP."""

    def __init__(self, device: CtapDevice, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 reply_host: str | None = None, reply_port: int | None = DEFAULT_REPLY_PORT,
                 clock: Clock | None = None, msg_timeout: float = 0.5,
                 after_command: Callable[[], None] | None = None,
                 on_power_on: Callable[[], None] | None = None) -> None:
        self.powered = True
        self.on_power_on = on_power_on
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            self.sock.close()
            raise TransportError(f"cannot listen on udp://{host}:{port}: {e.strerror or e}") from None
        self.sock.settimeout(0.05)
        self.host, self.port = self.sock.getsockname()[:2]
        self.reply_port = reply_port
        self._peer: tuple[str, int] | None = (reply_host or host, reply_port) if reply_port else None
        self.hid = CtapHidServer(device, self._sendto, clock=clock, msg_timeout=msg_timeout,
                                 after_command=after_command)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sendto(self, packet: bytes) -> None:
        if self._peer is not None:
            try:
                self.sock.sendto(packet, self._peer)
            except OSError:
                pass  # nobody listening on the reply port: like unplugged USB, the report is lost

    def serve_forever(self) -> None:
        while not self._stop.is_set():
            try:
                packet, addr = self.sock.recvfrom(2048)
            except TimeoutError:
                self.hid.tick()
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            if not self.powered:
                continue  # unplugged: reports go nowhere
            if self.reply_port is None:
                self._peer = addr
            self.hid.feed(packet)

    def power_off(self) -> None:
        """Unplug the simulated key: it stops answering and forgets its channels."""
        self.powered = False
        self.hid.unplug()

    def power_on(self) -> None:
        """Plug it back in: volatile authenticator state starts afresh (``on_power_on``)."""
        if not self.powered:
            if self.on_power_on is not None:
                self.on_power_on()
            self.powered = True

    def start(self) -> UdpCtapHidServer:
        self._thread = threading.Thread(target=self.serve_forever, name="ctaphid-udp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.hid.close()
        self.sock.close()

    def __enter__(self) -> UdpCtapHidServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class UdpCtapHidConnection(CtapHidConnection):
    """Client side: raw 64-byte reports to the server's port, replies read on ``reply_port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 reply_port: int = DEFAULT_REPLY_PORT, timeout: float = 5.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, reply_port))
        except OSError as e:
            self.sock.close()
            raise TransportError(f"cannot bind reply port udp://{host}:{reply_port}: {e.strerror or e}") \
                from None
        self.sock.settimeout(timeout)
        self.server = (host, port)
        self.sock.connect(self.server)  # the kernel drops datagrams from anyone else
        self.reply_port = self.sock.getsockname()[1]

    def write_packet(self, data: bytes) -> None:
        try:
            self.sock.send(data.ljust(PACKET_SIZE, b"\0"))
        except OSError as e:
            raise TransportError(f"cannot send to udp://{self.server[0]}:{self.server[1]}: {e}") from None

    def read_packet(self) -> bytes:
        try:
            return self.sock.recv(2048)
        except TimeoutError:
            raise TransportError(f"no CTAPHID reply from udp://{self.server[0]}:{self.server[1]}") from None
        except OSError as e:  # e.g. ICMP port unreachable: nothing listens on the server port
            raise TransportError(f"no CTAPHID server at udp://{self.server[0]}:{self.server[1]}: {e}") \
                from None

    def close(self) -> None:
        self.sock.close()


def open_udp_device(host: str = "127.0.0.1", port: int = DEFAULT_PORT, reply_port: int = DEFAULT_REPLY_PORT,
                    timeout: float = 5.0) -> CtapHidDevice:
    """A python-fido2 ``CtapHidDevice`` talking to a UDP CTAPHID authenticator."""
    conn = UdpCtapHidConnection(host, port, reply_port, timeout)
    descriptor = HidDescriptor(path=f"udp://{host}:{port}", vid=0x1209, pid=0x5070,
                               report_size_in=PACKET_SIZE, report_size_out=PACKET_SIZE,
                               product_name="tokensim FIDO2 (UDP)", serial_number=None)
    try:
        return CtapHidDevice(descriptor, conn)
    except Exception:
        conn.close()
        raise
