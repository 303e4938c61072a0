"""pytest plugin (``-p tokensim_fido2_shim``) that points python-fido2's HID discovery at a
``tokensim fido2 serve`` over UDP, so python-fido2's own device tests (its sdist's tests/device) run
against the simulator unchanged.

``TOKENSIM_FIDO2_UDP=host:port`` names the server.  ``list_descriptors()`` answers with one descriptor
while the server replies to a CTAPHID INIT (it does not while "unplugged" through the control channel),
``open_connection``/``open_device`` open a UDP connection to it.  The suite's own ``--controller`` option
(its USB power/touch controller) is pointed at ``serve --control-port``, which speaks the same paths.
"""

from __future__ import annotations

import os
import socket
import struct

import fido2.hid
from fido2.hid import CTAPHID, CtapHidDevice
from fido2.hid.base import HidDescriptor

from tokens.fido2.transport.udp import UdpCtapHidConnection

HOST, _, PORT = os.environ["TOKENSIM_FIDO2_UDP"].rpartition(":")
PATH = f"udp://{HOST}:{PORT}"
DESCRIPTOR = HidDescriptor(path=PATH, vid=0x1209, pid=0x5070, report_size_in=64, report_size_out=64,
                           product_name="tokensim FIDO2 (UDP)", serial_number=None)


def _present() -> bool:
    """Does the server answer a CTAPHID INIT on the broadcast channel within 0.3 s?"""
    nonce = os.urandom(8)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.connect((HOST, int(PORT)))
        s.send(struct.pack(">IBH", 0xFFFFFFFF, 0x80 | CTAPHID.INIT, 8) + nonce.ljust(57, b"\0"))
        try:
            while True:
                reply = s.recv(64)
                if reply[7:15] == nonce:
                    return True
        except OSError:
            return False


def list_descriptors():  # type: ignore[no-untyped-def]
    return [DESCRIPTOR] if _present() else []


def open_connection(descriptor):  # type: ignore[no-untyped-def]
    return UdpCtapHidConnection(HOST, int(PORT), reply_port=0, timeout=30.0)


def open_device(path):  # type: ignore[no-untyped-def]
    return CtapHidDevice(DESCRIPTOR, open_connection(DESCRIPTOR))


def list_devices():  # type: ignore[no-untyped-def]
    for d in list_descriptors():
        yield CtapHidDevice(d, open_connection(d))


# the suite's conftest does `from fido2.hid import list_descriptors, ...` when it is imported, which is
# after this plugin: patch the module attributes now
fido2.hid.list_descriptors = list_descriptors  # type: ignore[assignment]
fido2.hid.open_connection = open_connection  # type: ignore[assignment]
fido2.hid.open_device = open_device  # type: ignore[assignment]
fido2.hid.list_devices = list_devices  # type: ignore[assignment]
fido2.hid.CtapHidDevice.list_devices = classmethod(lambda cls: list_devices())  # type: ignore[method-assign]
