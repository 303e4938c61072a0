"""The CLI hooks other commands use for --device URL: serial-only / FIDO2-only opens, and two-code
enrollment from a device (checked by the project's verifier and by pyotp)."""

from __future__ import annotations

import pyotp
import pytest

from hw.token import SerialToken
from tokens._cli._device_probe import enroll_from_device, open_fido2, open_serial_token
from tokens.device import DeviceKind
from tokens.errors import InputError
from tokens.fido2 import state as fido2_state
from tokens.verifier import Verifier
from tokens.verifier.memory import MemoryStore

T = 1_767_225_600.0


def test_open_serial_token_and_open_fido2_refuse_other_kinds() -> None:
    with open_serial_token("sim-serial:?slots=1", pin="654321") as tok:
        assert isinstance(tok, SerialToken) and tok.info().details["slots"] == 1
    with pytest.raises(InputError, match="totp: is a totp device, not a serial token"):
        open_serial_token("totp:")
    fido2_state.create(fido2_state.AuthenticatorState.new(name="k"))
    with open_fido2("fido2-sim:k") as dev:
        assert dev.kind is DeviceKind.FIDO2
    with pytest.raises(InputError, match="not a FIDO2 authenticator"):
        open_fido2("hotp:")


@pytest.mark.parametrize("url", ["sim-serial:?drift_ppm=60&offset=-20", "totp:?drift_ppm=-30",
                                 "hotp:?counter=5"])
def test_enroll_from_device_gives_codes_the_verifier_accepts(url: str) -> None:
    enr, code1, code2, at2 = enroll_from_device(url, at=T, account="alice", issuer="ACME")
    otp = pyotp.parse_uri(enr.otpauth_uri)
    assert otp.name == "alice" and otp.issuer == "ACME"
    v = Verifier(MemoryStore())
    v.register_uri("S1", enr.otpauth_uri)
    res = v.enable("S1", code1, code2, at=at2)
    assert res.ok, res
    assert not v.enable("S1", code1, code2, at=at2).ok  # already active: refused
