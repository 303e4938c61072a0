"""Discovery: the simulator registry (live and stale entries) and the VID/PID table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hw import discovery


def test_registry_lists_live_simulators_and_drops_stale_ones(tmp_path: Path) -> None:
    live = discovery.register_simulator("/dev/pts/99", "TS00000001", base=tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = discovery.register_simulator("socket://127.0.0.1:1", "TS00000002", pid=int(dead.stdout),
                                         base=tmp_path)
    (tmp_path / "sim" / "junk.json").write_text("{not json")
    found = discovery.list_simulators(tmp_path)
    assert [(f.port, f.serial, f.kind) for f in found] == [("/dev/pts/99", "TS00000001", "simulator")]
    assert live.exists() and not stale.exists()
    assert json.loads(live.read_text())["serial"] == "TS00000001"
    discovery.unregister_simulator(live)
    assert discovery.list_simulators(tmp_path) == []


def test_known_token_table_and_serial_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    from serial.tools import list_ports_common

    def fake(device: str, vid: int | None, pid: int | None) -> list_ports_common.ListPortInfo:
        p = list_ports_common.ListPortInfo(device, skip_link_detection=True)
        p.vid, p.pid, p.serial_number = vid, pid, "E66138"
        return p

    ports = [fake("/dev/ttyACM7", 0x2E8A, 0x000A), fake("/dev/ttyUSB0", 0x0403, 0x6001),
             fake("/dev/ttyS0", None, None)]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
    found = discovery.list_serial_tokens()
    assert [(f.port, f.vid_pid, f.serial) for f in found] == [("/dev/ttyACM7", "2e8a:000a", "E66138")]
    assert not found[0].accessible  # the device node does not exist here
    _, hints = discovery.discover()
    assert any("/dev/ttyACM7" in h and "udev" in h for h in hints)
    assert (0x1209, 0x0001) in discovery.KNOWN_TOKENS


def test_fido2_keys_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    from fido2.hid import CtapHidDevice
    from fido2.hid.base import HidDescriptor

    class FakeKey:
        descriptor = HidDescriptor("/dev/hidraw3", 0x1050, 0x0407, 64, 64, "YubiKey OTP+FIDO+CCID", "123")

    monkeypatch.setattr(CtapHidDevice, "list_devices", classmethod(lambda cls: iter([FakeKey()])))
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: [])
    items, _ = discovery.discover(Path("/nonexistent-tokensim-home"))
    assert [(f.kind, f.port, f.description, f.vid_pid) for f in items] == [
        ("fido2", "/dev/hidraw3", "YubiKey OTP+FIDO+CCID", "1050:0407")]
