"""consecutive_codes: two-code enrollment from any OTP device opened by URL, verified with pyotp."""

from __future__ import annotations

import base64

import pyotp
import pytest

from firmware_sim.build import make_firmware
from firmware_sim.runner import TcpRunner
from tokens.clock import ManualClock, SystemClock
from tokens.device import EnrollRequest
from tokens.errors import UnsupportedOperationError
from tokens.fido2 import state as fido2_state
from tokens.open import open_device
from tokens.open.codes import consecutive_codes

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
KEY = base64.b32decode(SECRET)


@pytest.mark.parametrize("url", ["totp:?drift_ppm=400&offset=29.9", "sim-serial:?drift_ppm=-80"])
def test_simulated_totp_steps_follow_the_manual_clock(url: str) -> None:
    clock = ManualClock(1_767_225_600.0)
    slept: list[float] = []
    with open_device(url, reference=clock) as dev:
        dev.enroll(EnrollRequest(secret=KEY))
        auths = consecutive_codes(dev, 3, reference=clock, sleep=slept.append)
    assert slept == []  # nobody waits for a simulated clock
    steps = [a.counter for a in auths]
    assert steps[1] == steps[0] + 1 and steps[2] == steps[0] + 2  # type: ignore[operator]
    ref = pyotp.TOTP(SECRET)
    assert [a.code for a in auths] == [ref.at(int(a.device_time or 0)) for a in auths]


def test_hotp_is_pressed_n_times() -> None:
    with open_device(f"hotp:?secret={SECRET}&counter=7") as dev:
        auths = consecutive_codes(dev, 2)
    assert [a.code for a in auths] == [pyotp.HOTP(SECRET).at(7), pyotp.HOTP(SECRET).at(8)]


def test_a_device_with_its_own_clock_is_waited_for() -> None:
    """A token in 'another process' (its own clock): advancing our clock does not move it, so the
    helper waits for its next step; the injected sleep moves the token's clock instead."""
    token_clock = ManualClock(1_767_225_600.0 + 12.5)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        token_clock.advance(seconds)

    with TcpRunner(make_firmware(reference=token_clock)) as runner, open_device(runner.url) as dev:
        dev.enroll(EnrollRequest(secret=KEY))
        notes: list[str] = []
        a, b = consecutive_codes(dev, reference=ManualClock(0.0), sleep=sleep, notify=notes.append)
    assert slept == [pytest.approx(30 - 12.5 + 0.3)] and notes == ["waiting 18 s for the device's next code"]
    assert b.counter == (a.counter or 0) + 1
    assert b.code == pyotp.TOTP(SECRET).at(int(b.device_time or 0))


def test_a_fido2_device_has_no_codes() -> None:
    fido2_state.create(fido2_state.AuthenticatorState.new(name="k"))
    with open_device("fido2-sim:k", reference=SystemClock()) as dev, \
            pytest.raises(UnsupportedOperationError, match="shows no OTP codes"):
        consecutive_codes(dev)
