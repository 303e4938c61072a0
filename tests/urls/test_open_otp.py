"""virtual:, totp:, hotp: and otpauth: through open_device, checked with pyotp."""

from __future__ import annotations

import base64
import threading

import pyotp
import pytest

from tests.urls._check import totp_from
from tokens.clock import ManualClock
from tokens.device import AuthRequest, Capability, DeviceKind, EnrollRequest
from tokens.errors import DeviceClosedError, DeviceNotFoundError
from tokens.open import open_device
from tokens.open.otp import StoredDevice
from tokens.store import DeviceStore
from tokens.virtual import VirtualHOTP, VirtualTOTP

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_totp_url_codes_follow_the_drifted_clock(clock: ManualClock) -> None:
    dev = open_device(f"totp:?secret={SECRET}&digits=8&period=60&algorithm=SHA256&drift_ppm=200&offset=7",
                      reference=clock)
    assert isinstance(dev, VirtualTOTP) and dev.kind is DeviceKind.TOTP
    ref = pyotp.TOTP(SECRET, digits=8, interval=60, digest="sha256")
    for days in (0, 10, 100):
        at = clock.now() + days * 86400
        auth = dev.authenticate(AuthRequest(at=at))
        expected_time = at + 7 + (at - clock.now()) * 200e-6
        assert auth.device_time == pytest.approx(expected_time, abs=1e-6)
        assert auth.code == ref.at(int(expected_time))


def test_totp_url_without_secret_makes_a_fresh_random_token(clock: ManualClock) -> None:
    a, b = open_device("totp:", reference=clock), open_device("totp:", reference=clock)
    ea, eb = a.enroll(), b.enroll()
    assert ea.secret and eb.secret and ea.secret != eb.secret
    assert a.authenticate(AuthRequest(at=clock.now())).code == totp_from(ea).at(clock.now())


def test_hotp_url_counts_from_the_given_counter() -> None:
    dev = open_device(f"hotp:?secret={SECRET}&counter=41&digits=7&issuer=ACME&account=bob")
    assert isinstance(dev, VirtualHOTP)
    ref = pyotp.HOTP(SECRET, digits=7)
    assert [dev.authenticate().code for _ in range(3)] == [ref.at(41), ref.at(42), ref.at(43)]
    assert dev.issuer == "ACME" and dev.account == "bob"


def test_otpauth_url_is_a_device(clock: ManualClock) -> None:
    uri = pyotp.TOTP(SECRET).provisioning_uri(name="alice@example.com", issuer_name="ACME")
    dev = open_device(uri, reference=clock)
    assert dev.authenticate(AuthRequest(at=clock.now())).code == pyotp.TOTP(SECRET).at(clock.now())


def _store_hotp(name: str, counter: int = 0) -> DeviceStore:
    store = DeviceStore()
    store.add(name, VirtualHOTP(base64.b32decode(SECRET), counter=counter))
    return store


def test_virtual_hotp_counter_is_saved_back_after_every_use() -> None:
    _store_hotp("ci-hotp", counter=5)
    ref = pyotp.HOTP(SECRET)
    with open_device("virtual:ci-hotp") as dev:
        assert isinstance(dev, StoredDevice)
        assert dev.authenticate().code == ref.at(5)
        assert dev.authenticate().code == ref.at(6)
    # a second open (another script, another process) continues where the first stopped
    with open_device("virtual:ci-hotp") as again:
        assert again.authenticate().code == ref.at(7)
    assert DeviceStore().record("ci-hotp")["counter"] == 8


def test_virtual_hotp_concurrent_presses_never_reuse_a_counter() -> None:
    _store_hotp("shared")
    codes: list[int] = []
    lock = threading.Lock()

    def press() -> None:
        with open_device("virtual:shared") as dev:
            for _ in range(5):
                c = dev.authenticate().counter
                with lock:
                    codes.append(c or 0)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(codes) == list(range(20))


def test_virtual_totp_enroll_and_reset_persist(clock: ManualClock) -> None:
    store = DeviceStore(reference=clock)
    store.add("alice", VirtualTOTP(reference=clock))
    new_secret = b"0123456789abcdefghij"
    with open_device("virtual:alice", reference=clock) as dev:
        assert Capability.TOTP in dev.capabilities
        enr = dev.enroll(EnrollRequest(account="alice", rp_id="ACME", secret=new_secret))
        totp = totp_from(enr)
        assert dev.authenticate(AuthRequest(at=clock.now())).code == totp.at(clock.now())
        info = dev.info()
        assert info.details["name"] == "alice" and info.details["account"] == "alice"
    assert store.get("alice").secret == new_secret  # saved, not just in memory
    with open_device("virtual:alice", reference=clock) as dev:
        dev.reset()
    assert not store.record("alice").get("uri")


def test_virtual_accepts_a_store_object_or_path(tmp_path: object, clock: ManualClock) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "other.json"
    DeviceStore(path).add("x", VirtualHOTP(b"k" * 20))
    assert open_device("virtual:x", store=path).identity == DeviceStore(path).get("x").identity
    assert open_device("virtual:x", store=DeviceStore(path)).kind is DeviceKind.HOTP


def test_virtual_unknown_name_and_closed_device() -> None:
    with pytest.raises(DeviceNotFoundError, match="no device named 'ghost'"):
        open_device("virtual:ghost")
    _store_hotp("c")
    dev = open_device("virtual:c")
    dev.close()
    with pytest.raises(DeviceClosedError):
        dev.authenticate()
