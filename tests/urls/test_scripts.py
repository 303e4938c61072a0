"""The acceptance test of issue 9: one QA script, written once against the Device interface, passes
unchanged for every simulated scheme.  Each proof is verified independently (pyotp for OTP codes,
python-fido2's COSE code for assertions).  fido2-udp:// runs against 'tokensim fido2 serve' in a
subprocess on free ports."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from firmware_sim.runner import PtyRunner, TcpRunner
from tests.urls._check import assertion_ok, otp_ok
from tokens.clock import ManualClock
from tokens.device import AuthRequest, DeviceKind, EnrollRequest, Fido2Authentication
from tokens.fido2 import state as fido2_state
from tokens.open import open_device
from tokens.store import DeviceStore
from tokens.virtual import VirtualHOTP, VirtualTOTP


def qa_script(url: str, clock: ManualClock) -> list[str]:
    """What a user writes: open, enroll, log in twice a period apart; returns what was checked."""
    checked = []
    with open_device(url, reference=clock) as dev:
        enr = dev.enroll(EnrollRequest(account="alice@example.com", rp_id="example.com"))
        for _ in range(2):
            auth = dev.authenticate(AuthRequest(at=clock.now(), rp_id="example.com",
                                                credential_id=enr.credential_id or None))
            ok = assertion_ok(enr, auth) if dev.kind is DeviceKind.FIDO2 else otp_ok(enr, auth)
            assert ok, f"{url}: proof does not verify"
            checked.append(auth.signature.hex() if isinstance(auth, Fido2Authentication) else auth.code)
            clock.advance(30)
    return checked


@pytest.fixture
def fido2_udp_subprocess() -> Iterator[str]:
    fido2_state.create(fido2_state.AuthenticatorState.new(name="qa"))
    proc = subprocess.Popen([sys.executable, "-m", "tokens", "fido2", "serve", "qa", "--port", "0",
                             "--reply-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ), text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "fido2 serve did not start within 30 s"
        line = json.loads(proc.stdout.readline())
        yield f"fido2-udp://{line['host']}:{line['port']}?reply_port=0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _virtual_totp(clock: ManualClock) -> str:
    DeviceStore(reference=clock).add("alice", VirtualTOTP(reference=clock))
    return "virtual:alice"


def _virtual_hotp(clock: ManualClock) -> str:
    DeviceStore().add("bob", VirtualHOTP(counter=17))
    return "virtual:bob"


def _fido2_sim(clock: ManualClock) -> str:
    fido2_state.create(fido2_state.AuthenticatorState.new(name="qa-sim"))
    return "fido2-sim:qa-sim"


IN_PROCESS: dict[str, Callable[[ManualClock], str]] = {
    "virtual-totp": _virtual_totp,
    "virtual-hotp": _virtual_hotp,
    "totp": lambda c: "totp:?drift_ppm=40&offset=-3&digits=8&algorithm=SHA256",
    "hotp": lambda c: "hotp:?counter=100",
    "otpauth": lambda c: "otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=ACME&period=30",
    "fido2-sim": _fido2_sim,
    "sim-serial": lambda c: "sim-serial:?slots=2&drift_ppm=25",
}


@pytest.mark.parametrize("scheme", list(IN_PROCESS))
def test_script_passes_for_scheme(scheme: str) -> None:
    clock = ManualClock(1_767_225_600.0)
    codes = qa_script(IN_PROCESS[scheme](clock), clock)
    assert len(codes) == 2 and codes[0] != codes[1]


def test_script_passes_for_serial_pty_and_bare_path() -> None:
    from firmware_sim.build import make_firmware

    clock = ManualClock(1_767_225_600.0)
    with PtyRunner(make_firmware(reference=clock, drift_ppm=-12)) as runner:
        qa_script(f"serial://{runner.url}", clock)
        qa_script(runner.url, clock)


def test_script_passes_for_socket() -> None:
    from firmware_sim.build import make_firmware

    clock = ManualClock(1_767_225_600.0)
    with TcpRunner(make_firmware(reference=clock, offset=12)) as runner:
        qa_script(runner.url, clock)


def test_script_passes_for_fido2_udp_in_another_process(fido2_udp_subprocess: str) -> None:
    qa_script(fido2_udp_subprocess, ManualClock(1_767_225_600.0))
