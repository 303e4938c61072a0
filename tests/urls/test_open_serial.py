"""serial://, bare paths, socket:// and sim-serial: through open_device, against the firmware
simulator on a pty / loopback TCP port; codes cross-checked with pyotp."""

from __future__ import annotations

import os

import pytest

from firmware_sim.runner import PtyRunner, TcpRunner
from hw.errors import PinError, PortError
from tests.urls._check import totp_from
from tokens.clock import ManualClock
from tokens.device import AuthRequest, Capability, DeviceKind, EnrollRequest, OtpOptions, Simulated
from tokens.errors import DeviceClosedError
from tokens.open import ScriptedInteraction, open_device
from tokens.open.serial import SimSerialToken, UrlSerialToken


def _enroll_and_check(url: str, clock: ManualClock, **kw: object) -> UrlSerialToken:
    dev = open_device(url, reference=clock, **kw)  # type: ignore[arg-type]
    assert isinstance(dev, UrlSerialToken)
    enr = dev.enroll(EnrollRequest(account="alice", rp_id="ACME", otp=OtpOptions(digits=8)))
    totp = totp_from(enr)
    auth = dev.authenticate(AuthRequest())
    assert auth.device_time is not None
    assert auth.code == totp.at(int(auth.device_time))
    return dev


@pytest.mark.parametrize("form", ["serial://", "bare"])
def test_serial_url_and_bare_path_open_a_pty_token(form: str, pty_runner: PtyRunner,
                                                   clock: ManualClock) -> None:
    url = pty_runner.url if form == "bare" else f"serial://{pty_runner.url}"
    with _enroll_and_check(url, clock) as dev:
        assert dev.kind is DeviceKind.SERIAL
        assert dev.identity == pty_runner.endpoint.serial  # type: ignore[attr-defined]
        clock.advance(86400 * 30)  # 15 ppm over a month: the token's clock runs ~39 s ahead
        auth = dev.authenticate(AuthRequest())
        assert auth.device_time == pytest.approx(clock.now() + 30 * 86400 * 15e-6, abs=0.01)


def test_socket_url_opens_a_tcp_token(tcp_runner: TcpRunner, clock: ManualClock) -> None:
    with _enroll_and_check(tcp_runner.url, clock) as dev:
        auth = dev.authenticate(AuthRequest())
        assert auth.device_time == pytest.approx(clock.now() - 4.0, abs=0.01)


def test_sim_serial_starts_a_pty_simulator_and_stops_it_on_close(clock: ManualClock) -> None:
    dev = _enroll_and_check("sim-serial:?slots=2&drift_ppm=-30&serial=TS00000042", clock)
    assert isinstance(dev, SimSerialToken) and isinstance(dev, Simulated) and dev.simulator is dev.firmware
    runner = dev.runner
    assert dev.identity == "TS00000042" and dev.info().details["slots"] == 2
    assert os.path.exists(runner.url)
    clock.advance(86400 * 100)
    assert dev.authenticate(AuthRequest()).device_time == pytest.approx(
        clock.now() - 100 * 86400 * 30e-6, abs=0.01)
    dev.close()
    assert runner._thread is not None and not runner._thread.is_alive()
    with pytest.raises(DeviceClosedError):
        dev.authenticate(AuthRequest())
    dev.close()  # idempotent


def test_sim_serial_button_prompts_through_the_interaction(clock: ManualClock) -> None:
    ui = ScriptedInteraction()
    with open_device("sim-serial:?button=true", reference=clock, interaction=ui) as dev:
        assert Capability.BUTTON in dev.capabilities
        dev.enroll(EnrollRequest())
        assert ui.events == []
        dev.authenticate(AuthRequest())
        dev.authenticate(AuthRequest())
        assert ui.events == ["touch", "touch"]


def test_pin_option_interaction_and_wrong_pin(pty_runner: PtyRunner, clock: ManualClock,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENSIM_HW_PIN", raising=False)
    # the interaction is asked once, when a command first needs the PIN, and its answer is kept
    ui = ScriptedInteraction("123456")
    with open_device(pty_runner.url, interaction=ui) as dev:
        assert ui.events == []  # INFO needs no PIN
        dev.enroll(EnrollRequest(slot=1))
        dev.enroll(EnrollRequest(slot=0))
        assert ui.events == ["pin"]
    # an explicit pin= wins over the interaction, which is then never asked
    ui2 = ScriptedInteraction("123456")
    with open_device(pty_runner.url, interaction=ui2, pin="999999") as dev:
        with pytest.raises(PinError) as ei:
            dev.enroll(EnrollRequest())
        assert ei.value.retries_left == 4
    assert ui2.events == []


def test_sim_serial_pin_option_sets_the_simulated_tokens_pin(clock: ManualClock) -> None:
    with open_device("sim-serial:", reference=clock, pin="24681357") as dev:
        dev.enroll(EnrollRequest())
        assert isinstance(dev, UrlSerialToken)
        dev.set_time(clock.now() + 5)  # SET_TIME needs the PIN too
        assert dev.authenticate(AuthRequest()).device_time == pytest.approx(clock.now() + 5, abs=0.01)


def test_missing_port_is_a_one_line_port_error() -> None:
    with pytest.raises(PortError) as ei:
        open_device("serial:///dev/tokensim-no-such-port")
    assert "no-such-port" in str(ei.value) and "\n" not in str(ei.value)
    with pytest.raises(PortError):
        open_device("socket://127.0.0.1:1")


def test_opaque_port_names_and_ipv6_hosts_reach_the_driver() -> None:
    # serial:NAME without a slash is a port name (COM3 on Windows): the URL is fine, the port is not
    with pytest.raises(PortError, match="cannot open serial port tokensim-COM99"):
        open_device("serial:tokensim-COM99")
    with pytest.raises(PortError, match=r"socket://\[::1\]:1"):
        open_device("socket://[::1]:1")


def test_a_mistyped_pin_is_asked_again_not_resent(pty_runner: PtyRunner,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOKENSIM_HW_PIN", raising=False)
    ui = ScriptedInteraction(["000000", "123456"])
    with open_device(pty_runner.url, interaction=ui) as dev:
        with pytest.raises(PinError) as ei:
            dev.enroll(EnrollRequest())
        assert ei.value.retries_left == 4
        dev.enroll(EnrollRequest())  # asked again: the right PIN this time
        assert isinstance(dev, UrlSerialToken)
        dev.set_time(1_767_225_600.0 + 60)  # the good PIN is kept
        assert dev.info().details["pin_retries"] == 5  # a good PIN restores the retry counter
    assert ui.events == ["pin", "pin"]
