"""OpenSSH against the authenticator: `ssh-keygen -t ecdsa-sk|ed25519-sk -O resident`, `ssh-keygen -K`
(download resident keys: credential management, through the 0x41 preview code with libfido2 < 1.15)
and `ssh-keygen -Y sign` / `-Y verify`.

OpenSSH's built-in middleware finds keys only through the OS HID layer (no /dev/uhid here), so the test
compiles tests/fido2/interop/sk_udp_provider.c — an sk-api provider on libfido2 whose I/O functions
carry the CTAPHID reports over UDP — and hands it to ssh-keygen with `-w` / SSH_SK_PROVIDER.  Skipped
when gcc, the libfido2 / OpenSSL headers or ssh-keygen are missing (scripts/ensure-services.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fido2.ctap2.base import Ctap2
from fido2.ctap2.pin import ClientPin

from tests.fido2.conftest import Recording
from tests.fido2.test_libfido2_interop import _libfido2_version
from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice
from tokens.fido2.udp import UdpCtapHidServer

SOURCE = Path(__file__).parent / "interop" / "sk_udp_provider.c"
PIN = "123456"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Path:
    needed = ["/usr/include/fido.h", "/usr/include/openssl/ecdsa.h"]
    tools = shutil.which("gcc") is not None and shutil.which("ssh-keygen") is not None
    if not tools or not all(map(os.path.exists, needed)):
        pytest.skip("needs gcc, libfido2-dev, libssl-dev and openssh-client")
    lib = tmp_path_factory.mktemp("sk") / "sk_udp_provider.so"
    r = subprocess.run(["gcc", "-Wall", "-Werror", "-shared", "-fPIC", "-o", str(lib), str(SOURCE), "-lfido2",
                        "-lcrypto"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return lib


@pytest.fixture
def served() -> Iterator[tuple[Authenticator, Recording, int]]:
    auth = Authenticator(AuthenticatorState.new(attestation="self"))
    ClientPin(Ctap2(SoftCtapDevice(auth))).set_pin(PIN)
    device = Recording(SoftCtapDevice(auth))
    with UdpCtapHidServer(device, port=0, reply_port=None) as server:
        yield auth, device, server.port


def _keygen(args: list[str], cwd: Path, env: dict[str, str],
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh-keygen", *args], cwd=cwd, env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


def test_ssh_keygen_enrolls_downloads_and_signs(provider: Path, served: tuple[Authenticator, Recording, int],
                                               tmp_path: Path) -> None:
    auth, device, port = served
    env = {**os.environ, "HOME": str(tmp_path), "TOKENSIM_FIDO2_UDP": f"127.0.0.1:{port}",
           "SSH_SK_PROVIDER": str(provider)}
    enrolled: dict[str, str] = {}
    for kind, app in (("ecdsa-sk", "ssh:tokensim"), ("ed25519-sk", "ssh:ed")):
        r = _keygen(["-t", kind, "-O", "resident", "-O", f"application={app}", "-w", str(provider), "-N", "",
                     "-C", "test", "-f", str(tmp_path / kind)], tmp_path, env, PIN + "\n")
        assert r.returncode == 0, r.stdout + r.stderr
        enrolled[app] = (tmp_path / f"{kind}.pub").read_text().split()[1]
    assert sorted(c.rp_id for c in auth.state.resident) == ["ssh:ed", "ssh:tokensim"]

    download = tmp_path / "download"
    download.mkdir()
    r = _keygen(["-K", "-w", str(provider), "-N", ""], download, env, PIN + "\n")
    assert r.returncode == 0, r.stdout + r.stderr
    got = {p.name: p.read_text().split()[1] for p in download.glob("*.pub")}
    assert got == {"id_ecdsa_sk_rk_tokensim.pub": enrolled["ssh:tokensim"],
                   "id_ed25519_sk_rk_ed.pub": enrolled["ssh:ed"]}
    if (0, 0) < _libfido2_version() < (1, 15):
        assert Ctap2.CMD.CREDENTIAL_MGMT_PRE in device.commands  # what libfido2 1.12-1.14 send

    for key, principal in (("id_ecdsa_sk_rk_tokensim", "ecdsa"), ("id_ed25519_sk_rk_ed", "ed")):
        message = download / f"{principal}.txt"
        message.write_text("signed by a simulated security key\n")
        r = _keygen(["-Y", "sign", "-f", key, "-n", "file", message.name], download, env)
        assert r.returncode == 0, r.stdout + r.stderr
        allowed = download / f"{principal}.allowed"
        allowed.write_text(f"{principal} {' '.join((download / (key + '.pub')).read_text().split()[:2])}\n")
        r = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", "file",
                            "-s", str(message) + ".sig"], input=message.read_text(), capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and "Good" in r.stdout, r.stdout + r.stderr
