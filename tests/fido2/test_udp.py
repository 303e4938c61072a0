"""CTAPHID over UDP with the authenticator in ANOTHER process (``tokensim fido2 serve``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fido2.ctap import CtapError
from fido2.ctap1 import Ctap1
from fido2.ctap2.base import Ctap2
from fido2.hid import CtapHidDevice
from fido2.webauthn import UserVerificationRequirement

from tests.fido2.conftest import RelyingParty, client_for
from tokens._cli.main import main
from tokens.fido2 import state as store
from tokens.fido2.device import open_named
from tokens.fido2.errors import StateFileError, TransportError
from tokens.fido2.udp import UdpCtapHidConnection, open_udp_device

UV = UserVerificationRequirement


@dataclass
class Served:
    proc: subprocess.Popen[str]
    port: int
    reply_port: int | None
    home: Path
    name: str

    def device(self) -> CtapHidDevice:
        return open_udp_device(port=self.port, reply_port=self.reply_port or 0, timeout=10.0)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(home: Path, name: str, reply_port: int | None = None, *extra: str) -> Served:
    env = {**os.environ, "TOKENSIM_HOME": str(home)}
    cmd = [sys.executable, "-m", "tokens", "fido2", "serve", name, "--port", "0",
           "--reply-port", str(reply_port or 0), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # one JSON line when ready
    if not line:
        proc.kill()
        raise AssertionError(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")
    ready = json.loads(line)
    assert ready["event"] == "ready" and ready["host"] == "127.0.0.1"
    return Served(proc, int(ready["port"]), reply_port, home, name)


def new(home: Path, name: str, *args: str) -> None:
    os.environ["TOKENSIM_HOME"] = str(home)
    assert main(["fido2", "new", name, *args, "--json"]) == 0


CONFIGS = {
    "ES256-batch-pin": ["--alg", "ES256", "--attestation", "batch", "--pin", "2580"],
    "EdDSA-self-uv": ["--alg", "EdDSA", "--attestation", "self", "--uv", "auto"],
    "ES256-none": ["--alg", "ES256", "--attestation", "none"],
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("udp-home")
    old = os.environ.get("TOKENSIM_HOME")
    try:
        new(home, "k", *CONFIGS[request.param])
    finally:
        if old is not None:
            os.environ["TOKENSIM_HOME"] = old
    s = serve(home, "k")
    s.name = request.param
    yield s
    assert s.stop() == 0


@pytest.mark.parametrize("resident", [False, True], ids=["nonresident", "resident"])
def test_round_trip_over_udp(served: Served, resident: bool) -> None:
    pin = "2580" if "pin" in served.name else None
    uv = UV.DISCOURAGED if served.name == "ES256-none" else UV.REQUIRED
    dev = served.device()
    try:
        rp = RelyingParty()
        client = client_for(dev, pin)
        reg = rp.register(client, uv=uv, rk=resident, user=os.urandom(8))
        assert reg.is_user_verified() == (uv == UV.REQUIRED)
        c1 = rp.login(client, uv=uv, discoverable=resident).counter
        c2 = rp.login(client, uv=uv, discoverable=resident).counter
        assert c2 == c1 + 1
    finally:
        dev.close()


def test_ping_wink_and_u2f_over_udp(served: Served) -> None:
    dev = served.device()
    try:
        assert dev.ping(b"p" * 300) == b"p" * 300
        dev.wink()
        ctap1 = Ctap1(dev)
        assert ctap1.get_version() == "U2F_V2"
        reg = ctap1.register(b"\x01" * 32, b"\x02" * 32)
        reg.verify(b"\x02" * 32, b"\x01" * 32)
        sig = ctap1.authenticate(b"\x03" * 32, b"\x02" * 32, reg.key_handle)
        sig.verify(b"\x02" * 32, b"\x03" * 32, reg.public_key)
    finally:
        dev.close()


def test_fixed_reply_port_convention_and_persistence(tmp_path: Path) -> None:
    """The SoloKeys convention (replies to a fixed port), and state kept across server processes."""
    new(tmp_path, "qa", "--attestation", "none")
    rp = RelyingParty()
    reply = free_udp_port()
    s = serve(tmp_path, "qa", reply_port=reply)
    try:
        dev = s.device()
        rp.register(client_for(dev), rk=True)
        first = rp.login(client_for(dev), discoverable=True).counter
        dev.close()
        with pytest.raises(StateFileError, match="in use by another process"):
            open_named("qa", base=tmp_path)  # one writer at a time
    finally:
        assert s.stop() == 0
    st = store.load("qa", tmp_path)
    assert len(st.resident) == 1 and sum(st.counters.values()) == first
    assert (tmp_path / "fido2" / "qa.json").stat().st_mode & 0o777 == 0o600
    s = serve(tmp_path, "qa", reply_port=free_udp_port())
    try:
        dev = s.device()
        assert rp.login(client_for(dev), discoverable=True).counter == first + 1
        dev.close()
    finally:
        s.stop()


def test_client_errors_without_server() -> None:
    with pytest.raises(TransportError, match=r"no CTAPHID server at udp://127\.0\.0\.1"):
        open_udp_device(port=free_udp_port(), reply_port=0, timeout=0.2)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:  # listens, never answers
        mute.bind(("127.0.0.1", 0))
        with pytest.raises(TransportError, match="no CTAPHID reply"):
            open_udp_device(port=mute.getsockname()[1], reply_port=0, timeout=0.2)


def test_reply_port_in_use_is_one_line_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        with pytest.raises(TransportError, match="cannot bind reply port"):
            UdpCtapHidConnection(port=free_udp_port(), reply_port=s.getsockname()[1])


def test_in_thread_server_cancel(tmp_path: Path) -> None:
    """Cancel over the wire: the platform's event makes CtapHidDevice send CTAPHID_CANCEL."""
    import threading

    from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice, WaitThenTimeout
    from tokens.fido2.udp import UdpCtapHidServer

    a = Authenticator(AuthenticatorState.new(attestation="none"),
                      presence=WaitThenTimeout(timeout=10, interval=0.02))
    with UdpCtapHidServer(SoftCtapDevice(a), port=0, reply_port=None) as srv:
        dev = open_udp_device(port=srv.port, reply_port=0)
        event = threading.Event()
        seen: list[int] = []

        def on_keepalive(status: int) -> None:
            seen.append(status)
            event.set()

        with pytest.raises(CtapError) as ei:
            Ctap2(dev).selection(event=event, on_keepalive=on_keepalive)
        assert ei.value.code == CtapError.ERR.KEEPALIVE_CANCEL and seen == [2]
        dev.close()


def test_served_user_denies(tmp_path: Path) -> None:
    new(tmp_path, "deny", "--attestation", "none")
    s = serve(tmp_path, "deny", None, "--presence", "deny")
    try:
        dev = s.device()
        with pytest.raises(CtapError) as ei:
            Ctap2(dev).make_credential(b"\x00" * 32, {"id": "example.com"}, {"id": b"u"},
                                       [{"type": "public-key", "alg": -7}])
        assert ei.value.code == CtapError.ERR.OPERATION_DENIED
        dev.close()
    finally:
        assert s.stop() == 0
