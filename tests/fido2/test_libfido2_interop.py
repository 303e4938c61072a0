"""libfido2 (the C library behind fido2-token and OpenSSH) drives the authenticator over UDP.

tests/fido2/interop/fido2_udp_driver.c is compiled here with gcc against the installed libfido2; its
``fido_dev_set_io_functions`` carry the CTAPHID reports as datagrams to an in-process
``UdpCtapHidServer``.  It sets a PIN, makes a discoverable credential, gets an assertion and runs
credential management (metadata, RPs, credentials, delete) the way ``fido2-token -L/-D`` do.  libfido2
before 1.15 sends credential management only as the CTAP 2.1-preview command 0x41.
Skipped when gcc or the libfido2 headers are missing (scripts/ensure-services.sh installs them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fido2.ctap2.base import Ctap2

from tests.fido2.conftest import Recording
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice
from tokens.fido2.udp import UdpCtapHidServer

SOURCE = Path(__file__).parent / "interop" / "fido2_udp_driver.c"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None or not Path("/usr/include/fido.h").exists():
        pytest.skip("needs gcc and libfido2-dev (scripts/ensure-services.sh installs them)")
    exe = tmp_path_factory.mktemp("libfido2") / "fido2_udp_driver"
    r = subprocess.run(["gcc", "-Wall", "-Werror", "-o", str(exe), str(SOURCE), "-lfido2"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return exe


def _libfido2_version() -> tuple[int, int]:
    text = Path("/usr/include/fido/param.h").read_text() if Path("/usr/include/fido/param.h").exists() else ""
    out = subprocess.run(["pkg-config", "--modversion", "libfido2"], capture_output=True, text=True)
    m = re.match(r"(\d+)\.(\d+)", out.stdout.strip() or text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def test_libfido2_makecred_getassert_and_credman(driver: Path) -> None:
    auth = Authenticator(AuthenticatorState.new(attestation="self"))
    device = Recording(SoftCtapDevice(auth))
    with UdpCtapHidServer(device, port=0, reply_port=None) as server:
        r = subprocess.run([str(driver), "127.0.0.1", str(server.port), "4711"], capture_output=True,
                           text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "makecred ok fmt=packed" in lines
    assert any(line.startswith("getassert ok count=1") for line in lines)
    assert "credman metadata existing=1 remaining=24" in lines
    assert "credman rp example.com" in lines and "credman cred user=alice" in lines
    assert "credman after-delete existing=0" in lines and auth.state.resident == []
    cm = {Ctap2.CMD.CREDENTIAL_MGMT, Ctap2.CMD.CREDENTIAL_MGMT_PRE} & set(device.commands)
    assert cm, device.commands
    if _libfido2_version() < (1, 15) and _libfido2_version() != (0, 0):
        assert cm == {Ctap2.CMD.CREDENTIAL_MGMT_PRE}  # the preview code is all that libfido2 speaks
