"""Finding tokens: USB serial ports whose VID/PID are known tokens, running simulators (from the
registry the ``sim serve`` runner keeps under ``$TOKENSIM_HOME/sim/``), and FIDO2 security keys
through python-fido2's HID support.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tokens.fileutil import atomic_write
from tokens.paths import home

# (VID, PID) → what it is.  Boards that DIY tokens are built on enumerate with their vendor's
# CDC-ACM ids; pid.codes 1209:0001 is the open test id tokensim firmware uses.
KNOWN_TOKENS: dict[tuple[int, int], str] = {
    (0x1209, 0x0001): "tokensim serial token (pid.codes test id)",
    (0x2E8A, 0x000A): "Raspberry Pi RP2040 (Pico SDK USB CDC)",
    (0x2E8A, 0x0005): "Raspberry Pi RP2040 (MicroPython)",
    (0x2341, 0x0043): "Arduino Uno",
    (0x2341, 0x8036): "Arduino Leonardo",
    (0x2341, 0x804D): "Arduino Zero / SAMD21",
    (0x239A, 0x800B): "Adafruit Feather M0 (SAMD21)",
    (0x239A, 0x80F4): "Adafruit QT Py RP2040",
}

UDEV_HINT = ('add a udev rule, e.g. /etc/udev/rules.d/70-tokensim.rules with\n'
             '  SUBSYSTEM=="tty", ATTRS{idVendor}=="1209", ATTRS{idProduct}=="0001", MODE="0660", '
             'GROUP="dialout"\n'
             '  KERNEL=="hidraw*", SUBSYSTEM=="hidraw", MODE="0660", GROUP="plugdev", TAG+="uaccess"\n'
             'then `sudo udevadm control --reload && sudo udevadm trigger`, and join the group')


@dataclass(frozen=True)
class Found:
    kind: str  # "serial", "simulator" or "fido2"
    port: str  # device path or URL
    description: str
    serial: str = ""
    vid_pid: str = ""
    accessible: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- simulator registry


def registry_dir(base: Path | None = None) -> Path:
    return (base or home()) / "sim"


def register_simulator(port: str, serial: str, *, pid: int | None = None, base: Path | None = None) -> Path:
    """Record a running simulator (``sim serve``) so ``hw list`` shows it; returns the entry's path."""
    pid = os.getpid() if pid is None else pid
    path = registry_dir(base) / f"{pid}-{serial}.json"
    atomic_write(path, json.dumps({"port": port, "serial": serial, "pid": pid}), mode=0o600)
    return path


def unregister_simulator(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_simulators(base: Path | None = None) -> list[Found]:
    out = []
    d = registry_dir(base)
    for p in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            entry = json.loads(p.read_text())
            port, serial, pid = str(entry["port"]), str(entry["serial"]), int(entry["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not _alive(pid):
            unregister_simulator(p)  # stale: the simulator died without cleaning up
            continue
        out.append(Found("simulator", port, f"tokensim simulator (pid {pid})", serial))
    return out


# --------------------------------------------------------------------------- real hardware


def list_serial_tokens() -> list[Found]:
    from serial.tools import list_ports

    out = []
    for p in list_ports.comports():
        if p.vid is None or p.pid is None:
            continue
        name = KNOWN_TOKENS.get((p.vid, p.pid))
        if name is None:
            continue
        out.append(Found("serial", p.device, name, p.serial_number or "", f"{p.vid:04x}:{p.pid:04x}",
                         os.access(p.device, os.R_OK | os.W_OK)))
    return out


def list_fido2_keys() -> tuple[list[Found], list[str]]:
    """FIDO2 keys python-fido2 can open, and hidraw nodes it could not (permission)."""
    found: list[Found] = []
    try:
        from fido2.hid import CtapHidDevice

        for dev in CtapHidDevice.list_devices():
            d = dev.descriptor
            found.append(Found("fido2", str(d.path), d.product_name or "FIDO2 security key",
                               d.serial_number or "", f"{d.vid:04x}:{d.pid:04x}"))
    except Exception:  # no HID backend on this platform: report none rather than fail
        pass
    denied = [p for p in sorted(glob.glob("/dev/hidraw*")) if not os.access(p, os.R_OK | os.W_OK)]
    return found, denied


def discover(base: Path | None = None) -> tuple[list[Found], list[str]]:
    """Everything found, plus human hints (permission problems)."""
    hints: list[str] = []
    items = list_serial_tokens()
    for f in items:
        if not f.accessible:
            hints.append(f"{f.port}: no read/write permission; {UDEV_HINT}")
    items += list_simulators(base)
    keys, denied = list_fido2_keys()
    items += keys
    if denied:
        hints.append(f"{len(denied)} HID device(s) not readable ({', '.join(denied)}); a FIDO2 key among "
                     f"them would be invisible: {UDEV_HINT}")
    return items, hints
