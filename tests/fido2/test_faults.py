"""Every injected fault is caught by a correct relying party (Fido2Server + our counter check)."""

from __future__ import annotations

import pytest
from fido2.webauthn import AuthenticatorData, UserVerificationRequirement

from tests.fido2.conftest import CounterRegressionError, RelyingParty, client_for, set_pin
from tokens.fido2 import (
    Authenticator,
    AuthenticatorState,
    BadSignature,
    CounterMode,
    CounterRegression,
    FlagOverride,
    SoftCtapDevice,
    WrongRpIdHash,
    clear,
    inject,
)

FLAG = AuthenticatorData.FLAG


def _registered(uv: bool = False) -> tuple[Authenticator, RelyingParty, SoftCtapDevice]:
    a = Authenticator(AuthenticatorState.new(attestation="none"))
    dev = SoftCtapDevice(a)
    if uv:
        set_pin(dev, "1357")
    rp = RelyingParty()
    rp.register(client_for(dev, "1357" if uv else None),
                uv=UserVerificationRequirement.REQUIRED if uv else UserVerificationRequirement.DISCOURAGED)
    rp.login(client_for(dev, "1357" if uv else None),
             uv=UserVerificationRequirement.REQUIRED if uv else UserVerificationRequirement.DISCOURAGED)
    return a, rp, dev


def test_honest_authenticator_passes() -> None:
    _a, rp, dev = _registered()
    assert rp.login(client_for(dev)).counter == 2


def test_cloned_authenticator_counter_regression_is_detected() -> None:
    a, rp, dev = _registered()
    clone = a.clone()
    rp.login(client_for(dev))  # the original moves on
    with pytest.raises(CounterRegressionError):
        rp.login(client_for(SoftCtapDevice(clone)))


@pytest.mark.parametrize("fault", [CounterRegression(0), CounterRegression(by=1)], ids=["to-zero", "by-one"])
def test_counter_regression_fault_is_detected(fault: CounterRegression) -> None:
    a, rp, dev = _registered()
    inject(a, fault)
    with pytest.raises(CounterRegressionError):
        rp.login(client_for(dev))
    clear(a)
    rp.login(client_for(dev))


def test_wrong_rp_id_hash_is_detected() -> None:
    a, rp, dev = _registered()
    inject(a, WrongRpIdHash())
    with pytest.raises(ValueError, match="RP ID hash"):
        rp.login(client_for(dev))


def test_bad_signature_is_detected() -> None:
    a, rp, dev = _registered()
    inject(a, BadSignature())
    with pytest.raises(ValueError, match="Invalid signature"):
        rp.login(client_for(dev))


def test_cleared_up_flag_is_detected() -> None:
    a, rp, dev = _registered()
    inject(a, FlagOverride(clear_flags=FLAG.UP))
    with pytest.raises(ValueError, match="User Present"):
        rp.login(client_for(dev))


def test_cleared_uv_flag_is_detected_when_uv_required() -> None:
    a, rp, dev = _registered(uv=True)
    inject(a, FlagOverride(clear_flags=FLAG.UV))
    with pytest.raises(ValueError, match="User verification required"):
        rp.login(client_for(dev, "1357"), uv=UserVerificationRequirement.REQUIRED)


def test_faults_stack_outermost_last() -> None:
    a, rp, dev = _registered()
    inject(a, WrongRpIdHash(), BadSignature())
    with pytest.raises(ValueError):
        rp.login(client_for(dev))
    assert "BadSignature" in repr(a.signer)


def test_zero_counter_mode_is_accepted_by_counter_check() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none", counter_mode=CounterMode.ZERO))
    rp = RelyingParty()
    dev = SoftCtapDevice(a)
    rp.register(client_for(dev))
    assert rp.login(client_for(dev)).counter == 0
    assert rp.login(client_for(dev)).counter == 0


def test_global_counter_spans_credentials() -> None:
    a = Authenticator(AuthenticatorState.new(attestation="none", counter_mode=CounterMode.GLOBAL))
    dev = SoftCtapDevice(a)
    rp1, rp2 = RelyingParty(), RelyingParty()
    rp1.register(client_for(dev), user=b"a")
    rp2.register(client_for(dev), user=b"b")
    c1 = rp1.login(client_for(dev)).counter
    c2 = rp2.login(client_for(dev)).counter
    assert c2 == c1 + 1
