"""User presence scripting: approve, deny, wait-then-timeout with UPNEEDED keepalives, cancel."""

from __future__ import annotations

import threading

import pytest
from fido2 import cbor
from fido2.ctap import STATUS, CtapError

from tokens.fido2 import Authenticator, AuthenticatorState, Outcome, Scripted, WaitThenTimeout

ERR = CtapError.ERR
MC = b"\x01" + cbor.encode({1: b"\x00" * 32, 2: {"id": "example.com"}, 3: {"id": b"u"},
                            4: [{"type": "public-key", "alg": -7}]})


def _no_wait(event: threading.Event, seconds: float) -> bool:
    return event.is_set()


@pytest.fixture
def a() -> Authenticator:
    return Authenticator(AuthenticatorState.new(attestation="none"))


def test_timeout_sends_upneeded_keepalives(a: Authenticator) -> None:
    a.presence = WaitThenTimeout(timeout=1.0, interval=0.1, wait=_no_wait)
    seen: list[STATUS] = []
    assert a.process(MC, None, seen.append) == bytes([ERR.USER_ACTION_TIMEOUT])
    assert seen == [STATUS.UPNEEDED] * 10


def test_cancel_while_waiting(a: Authenticator) -> None:
    a.presence = WaitThenTimeout(timeout=5.0, interval=0.01)
    event = threading.Event()
    seen: list[STATUS] = []

    def keepalive(s: STATUS) -> None:
        seen.append(s)
        if len(seen) == 3:
            event.set()  # the platform cancels after a few keepalives

    assert a.process(MC, event, keepalive) == bytes([ERR.KEEPALIVE_CANCEL])
    assert len(seen) == 3


def test_already_cancelled(a: Authenticator) -> None:
    event = threading.Event()
    event.set()
    assert a.process(MC, event) == bytes([ERR.KEEPALIVE_CANCEL])


def test_wait_then_approve(a: Authenticator) -> None:
    a.presence = WaitThenTimeout(timeout=0.3, interval=0.1, wait=_no_wait, then=Outcome.APPROVE)
    assert a.process(MC)[0] == 0


def test_scripted_outcomes(a: Authenticator) -> None:
    a.presence = Scripted(["deny", "cancel", "timeout"])
    codes = [a.process(MC)[0] for _ in range(4)]
    assert codes == [ERR.OPERATION_DENIED, ERR.KEEPALIVE_CANCEL, ERR.USER_ACTION_TIMEOUT, 0]


def test_uv_option_with_biometric() -> None:
    from tokens.fido2 import Biometric

    a = Authenticator(AuthenticatorState.new(attestation="none", uv="auto"),
                      biometric=Biometric(script=[False]))
    req = b"\x01" + cbor.encode({1: b"\x00" * 32, 2: {"id": "example.com"}, 3: {"id": b"u"},
                                 4: [{"type": "public-key", "alg": -7}], 7: {"uv": True}})
    assert a.process(req) == bytes([ERR.UV_INVALID])
    resp = a.process(req)
    assert resp[0] == 0
    from fido2.webauthn import AuthenticatorData

    assert AuthenticatorData(cbor.decode(resp[1:])[2]).is_user_verified()
