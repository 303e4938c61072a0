"""Every Device implementation passes the same contract (see docs/devices.md)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.device_factories import DeviceFactory, all_factories
from tokens.clock import ManualClock
from tokens.device import (
    Capability,
    ConsecutiveCodes,
    Device,
    DeviceInfo,
    DeviceKind,
    Fido2Authentication,
    Fido2Enrollment,
    HasSlots,
    OtpAuthentication,
    OtpEnrollment,
    Simulated,
)
from tokens.errors import DeviceClosedError, DeviceError, DeviceNotEnrolledError
from tokens.params import OtpParams, OtpType

FACTORIES = all_factories()


@pytest.fixture(params=FACTORIES, ids=[f.id for f in FACTORIES])
def factory(request: pytest.FixtureRequest) -> DeviceFactory:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


def test_every_family_is_registered() -> None:
    """Each device family of the project runs the contract, directly and opened by URL."""
    prefixes = {f.id.split("-")[0] for f in FACTORIES}
    assert {"totp", "hotp", "fido2", "serial", "url"} <= prefixes
    kinds = set()
    for f in FACTORIES:
        with f.make(ManualClock(1_700_000_000.0)) as dev:
            kinds.add(dev.kind)
    assert kinds == set(DeviceKind)


def test_identity_kind_capabilities_info(factory: DeviceFactory, clock: ManualClock) -> None:
    dev = factory.make(clock)
    try:
        assert isinstance(dev, Device)
        assert isinstance(dev.identity, str) and dev.identity
        assert dev.identity == dev.identity  # stable
        assert isinstance(dev.kind, DeviceKind)
        assert isinstance(dev.capabilities, Capability)
        info = dev.info()
        assert isinstance(info, DeviceInfo)
        assert (info.identity, info.kind, info.capabilities) == (dev.identity, dev.kind, dev.capabilities)
        d = info.to_dict()
        assert d["identity"] == dev.identity and d["kind"] == dev.kind.value
    finally:
        dev.close()


def test_enroll_then_authenticate_is_verified_independently(factory: DeviceFactory,
                                                            clock: ManualClock) -> None:
    with factory.make(clock) as dev:
        enr = dev.enroll(factory.enroll_request)
        assert enr.kind == dev.kind and enr.device_id == dev.identity
        auth = dev.authenticate(factory.auth_request(enr, clock))
        assert auth.kind == dev.kind and auth.device_id == dev.identity
        assert factory.check(enr, auth, clock)
        clock.advance(factory.step_seconds)
        auth2 = dev.authenticate(factory.auth_request(enr, clock))
        assert factory.check(enr, auth2, clock)


def test_proof_does_not_verify_against_another_devices_enrollment(factory: DeviceFactory,
                                                                  clock: ManualClock) -> None:
    with factory.make(clock) as a, factory.make(clock) as b:
        ea = a.enroll(factory.enroll_request)
        eb = b.enroll(factory.enroll_request)
        auth_b = b.authenticate(factory.auth_request(eb, clock))
        assert factory.check(eb, auth_b, clock)
        # b's proof presented for a's enrollment must fail (same credential id, other key)
        if isinstance(auth_b, Fido2Authentication):  # an OTP code names no credential: a's check suffices
            auth_b = dataclasses.replace(auth_b, credential_id=ea.credential_id)
        assert not factory.check(ea, auth_b, clock)


def test_reset_forgets_credentials(factory: DeviceFactory, clock: ManualClock) -> None:
    with factory.make(clock) as dev:
        enr = dev.enroll(factory.enroll_request)
        dev.reset()
        try:
            auth = dev.authenticate(factory.auth_request(enr, clock))
        except DeviceNotEnrolledError:
            return
        except DeviceError:
            return
        assert not factory.check(enr, auth, clock)


def test_close_is_idempotent_and_final(factory: DeviceFactory, clock: ManualClock) -> None:
    dev = factory.make(clock)
    with dev as entered:
        assert entered is dev
        enr = dev.enroll(factory.enroll_request)
    assert dev.closed
    dev.close()
    with pytest.raises(DeviceClosedError):
        dev.authenticate(factory.auth_request(enr, clock))
    with pytest.raises(DeviceClosedError):
        dev.enroll(factory.enroll_request)


def test_records_are_typed_per_family(factory: DeviceFactory, clock: ManualClock) -> None:
    """OTP devices answer with OTP records carrying an OtpParams; FIDO2 devices with FIDO2 records."""
    with factory.make(clock) as dev:
        enr = dev.enroll(factory.enroll_request)
        auth = dev.authenticate(factory.auth_request(enr, clock))
        if dev.capabilities & Capability.FIDO2:
            assert isinstance(enr, Fido2Enrollment) and isinstance(auth, Fido2Authentication)
            assert enr.rp_id == auth.rp_id and enr.attestation_object
        else:
            assert isinstance(enr, OtpEnrollment) and isinstance(auth, OtpAuthentication)
            assert isinstance(enr.params, OtpParams) and enr.params.type is auth.type
            assert auth.code.isdigit() and len(auth.code) == enr.params.digits
            if auth.type is OtpType.TOTP:
                assert auth.period == enr.params.period and auth.device_time is not None
            else:
                assert auth.period is None
        for field in dataclasses.fields(enr):  # no string-keyed bags left in the records
            assert field.name not in ("details", "options")


def test_capability_protocols_agree_with_the_flags(factory: DeviceFactory, clock: ManualClock) -> None:
    with factory.make(clock) as dev:
        caps = dev.capabilities
        assert isinstance(dev, HasSlots) == bool(caps & Capability.SLOTS)
        if isinstance(dev, HasSlots):
            dev.enroll(factory.enroll_request)
            slots = dev.slots()
            assert slots and any(s.provisioned for s in slots)
        if isinstance(dev, Simulated):
            assert caps & Capability.SIMULATED and dev.simulator is not None
        if isinstance(dev, ConsecutiveCodes):
            dev.enroll(factory.enroll_request)
            codes = dev.consecutive(3, at=clock.now())
            assert len(codes) == 3 and all(c.isdigit() for c in codes)
