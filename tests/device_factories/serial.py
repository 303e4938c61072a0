"""Serial tokens: the driver talking to the firmware simulator over a real pty (TOTP, drifting
clock) and over the in-process loopback (HOTP).  Checked with pyotp, an independent implementation,
at the time the device's own clock showed."""

from __future__ import annotations

import pyotp

from firmware_sim.build import make_firmware
from firmware_sim.loopback import LoopbackPort
from firmware_sim.runner import PtyRunner, Runner
from hw.token import SerialToken, open_port
from tests.device_factories import DeviceFactory
from tokens.clock import DriftModel, ManualClock
from tokens.device import (
    Authentication,
    AuthRequest,
    Device,
    Enrollment,
    EnrollRequest,
    OtpAuthentication,
    OtpEnrollment,
    OtpOptions,
)
from tokens.params import OtpType

PIN = "135790"


class _ServedToken(SerialToken):
    """A driver that also stops the runner serving its simulator when closed."""

    runner: Runner | None = None

    def close(self) -> None:
        super().close()
        if self.runner is not None:
            self.runner.stop()


def _pty_token(clock: ManualClock) -> Device:
    fw = make_firmware(reference=clock, pin=PIN, drift=DriftModel(ppm=-25, offset=4.5, epoch=clock.now()))
    runner = PtyRunner(fw).start()
    try:
        tok = _ServedToken(open_port(runner.url), pin=PIN, url=runner.url)
    except BaseException:
        runner.stop()
        raise
    tok.runner = runner
    return tok


def _loopback_token(clock: ManualClock) -> Device:
    return SerialToken(LoopbackPort(make_firmware(reference=clock, pin=PIN, slots=8)), pin=PIN)


def _check(enr: Enrollment, auth: Authentication, clock: ManualClock) -> bool:
    assert isinstance(enr, OtpEnrollment) and isinstance(auth, OtpAuthentication)
    otp = pyotp.parse_uri(enr.otpauth_uri)
    if isinstance(otp, pyotp.HOTP):
        # pyotp counts from the URI's initial counter: HOTP.at(n) is the code for counter initial + n
        return bool(otp.verify(auth.code, auth.counter - otp.initial_count))
    assert auth.device_time is not None
    return bool(otp.verify(auth.code, for_time=int(auth.device_time)))


FACTORIES = [
    DeviceFactory("serial-pty-totp-drift", _pty_token, _check,
                  enroll_request=EnrollRequest(slot=2, otp=OtpOptions(algorithm="SHA256", digits=8)),
                  auth_request=lambda e, c: AuthRequest(at=c.now(), slot=2)),
    DeviceFactory("serial-loopback-hotp", _loopback_token, _check,
                  enroll_request=EnrollRequest(slot=5, otp=OtpOptions(OtpType.HOTP, counter=10)),
                  auth_request=lambda e, c: AuthRequest(slot=5)),
]
