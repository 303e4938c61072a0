"""Hardware suite: runs against a real device ONLY when asked, e.g.

    pytest tests/device --device-url fido2-hid:              # the first USB security key
    pytest tests/device --device-url serial:///dev/ttyACM0 -s
    pytest tests/device --device-url sim-serial:             # the suite itself, on a simulator

Without --device-url every test here is skipped with one reason.  What it changes on the device:
a FIDO2 key gets a NON-resident credential for rp "tokensim.test" (nothing stored on the key, no
reset); a serial token gets a fresh random seed in its LAST slot (no reset, other slots untouched).
The PIN comes from $TOKENSIM_PIN (FIDO2) / $TOKENSIM_HW_PIN (serial) or, with ``-s``, the terminal;
touch prompts go to stderr (use ``-s`` to see them).  Proofs are verified independently (pyotp,
python-fido2's COSE verification), never by the device's own code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.urls._check import assertion_ok, otp_ok
from tokens.device import AuthRequest, Capability, Device, DeviceInfo, DeviceKind, EnrollRequest, HasSlots
from tokens.errors import DeviceClosedError
from tokens.open import open_device
from tokens.open.interaction import CliInteraction

RP = "tokensim.test"


@pytest.fixture
def device(device_url: str) -> Iterator[Device]:
    dev = open_device(device_url, interaction=CliInteraction())
    try:
        yield dev
    finally:
        dev.close()


def _slot(dev: Device) -> int:
    """The last slot of a multi-slot token (the one least likely to hold a real seed), else 0."""
    return dev.slots()[-1].slot if isinstance(dev, HasSlots) else 0


def test_probe_describes_the_device(device: Device) -> None:
    info = device.info()
    assert isinstance(info, DeviceInfo)
    assert info.identity and info.identity == device.identity
    assert info.kind is device.kind and info.capabilities == device.capabilities
    d = json.loads(json.dumps(info.to_dict()))
    assert d["kind"] == device.kind.value and d["capabilities"]
    if device.kind is DeviceKind.FIDO2:
        assert Capability.FIDO2 in device.capabilities
        assert {"FIDO_2_0", "FIDO_2_1", "FIDO_2_1_PRE"} & set(info.details["versions"])
        assert info.details["algorithms"], "authenticatorGetInfo lists no algorithms"
    else:
        assert device.capabilities & (Capability.TOTP | Capability.HOTP)


def test_enroll_then_authenticate_verifies_independently(device: Device) -> None:
    if device.kind is DeviceKind.FIDO2:
        enr = device.enroll(EnrollRequest(account="tokensim-hw-test", rp_id=RP))
        first = device.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id))
        second = device.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id))
        assert assertion_ok(enr, first) and assertion_ok(enr, second)
        # a real key's counter never goes backwards (0 forever is allowed: counter-less keys)
        assert second.counter > first.counter or second.counter == first.counter == 0
        return
    slot = _slot(device)
    enr = device.enroll(EnrollRequest(account="tokensim-hw-test", rp_id=RP, slot=slot))
    auth = device.authenticate(AuthRequest(slot=slot))
    assert auth.code and otp_ok(enr, auth)


def test_a_proof_does_not_verify_for_another_enrollment(device: Device) -> None:
    if device.kind is DeviceKind.FIDO2:
        a = device.enroll(EnrollRequest(account="tokensim-hw-a", rp_id=RP))
        b = device.enroll(EnrollRequest(account="tokensim-hw-b", rp_id=RP))
        auth_b = device.authenticate(AuthRequest(rp_id=RP, credential_id=b.credential_id))
        assert assertion_ok(b, auth_b) and not assertion_ok(a, auth_b)
        return
    slot = _slot(device)
    a = device.enroll(EnrollRequest(slot=slot, secret=os.urandom(20)))
    b = device.enroll(EnrollRequest(slot=slot, secret=os.urandom(20)))  # re-provisioned: a's seed is gone
    auth = device.authenticate(AuthRequest(slot=slot))
    assert otp_ok(b, auth) and not otp_ok(a, auth)


def test_close_is_final(device_url: str) -> None:
    dev = open_device(device_url, interaction=CliInteraction())
    dev.close()
    dev.close()
    with pytest.raises(DeviceClosedError):
        dev.authenticate(AuthRequest(rp_id=RP, slot=0))
