"""fido2-sim:, fido2-udp:// and fido2-hid: through open_device, against the software authenticator
(in-process, and served as CTAPHID over UDP on free loopback ports).  Assertions are verified with
python-fido2's COSE code under the enrolled public key; attestation objects parsed by python-fido2."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fido2.ctap2.base import Ctap2
from fido2.ctap2.pin import ClientPin
from fido2.webauthn import AttestationObject

from tests.urls._check import assertion_ok
from tokens.device import (
    AuthRequest,
    Capability,
    Device,
    DeviceKind,
    EnrollRequest,
    Fido2Authentication,
    Fido2Enrollment,
)
from tokens.fido2 import Authenticator, Outcome, SoftCtapDevice, WaitThenTimeout, state
from tokens.fido2.errors import Fido2DeviceError, TransportError
from tokens.fido2.udp import UdpCtapHidServer, open_udp_device
from tokens.open import ScriptedInteraction, open_device
from tokens.open.fido2 import InteractiveFido2Device

RP = "example.com"


def _new_state(name: str, pin: str | None = None) -> None:
    st = state.AuthenticatorState.new(name=name)
    if pin is not None:
        ClientPin(Ctap2(SoftCtapDevice(Authenticator(st)))).set_pin(pin)
    state.create(st)


@pytest.fixture
def udp_server() -> Iterator[UdpCtapHidServer]:
    """The soft authenticator on a free UDP port; it answers whoever sent the last report.  A touch
    is 'given' after two UPNEEDED keepalives, so the prompt path runs."""
    auth = Authenticator(presence=WaitThenTimeout(timeout=0.1, interval=0.05, then=Outcome.APPROVE))
    srv = UdpCtapHidServer(SoftCtapDevice(auth), port=0, reply_port=None)
    with srv:
        yield srv


def _roundtrip(dev: Device) -> None:
    enr = dev.enroll(EnrollRequest(account="alice", rp_id=RP))
    assert isinstance(enr, Fido2Enrollment)
    att = AttestationObject(enr.attestation_object)
    assert att.auth_data.rp_id_hash == hashlib.sha256(RP.encode()).digest()
    assert att.auth_data.credential_data is not None
    assert att.auth_data.credential_data.credential_id == enr.credential_id
    auth = dev.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id, challenge=b"c" * 32))
    assert auth.client_data_hash == b"c" * 32
    assert assertion_ok(enr, auth)
    # tampering is caught by the same independent check
    assert not assertion_ok(enr, auth.__class__(**{**auth.__dict__, "client_data_hash": b"d" * 32}))


def test_fido2_sim_roundtrip_and_state_saved_on_close() -> None:
    _new_state("qa-key")
    with open_device("fido2-sim:qa-key") as dev:
        assert isinstance(dev, InteractiveFido2Device)
        assert dev.kind is DeviceKind.FIDO2 and Capability.SIMULATED in dev.capabilities
        assert dev.info().details["url"] == "fido2-sim:qa-key"
        _roundtrip(dev)
        enr = dev.enroll(EnrollRequest(rp_id=RP))
        first = dev.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id)).counter
    # another open (another process) sees the same authenticator: same key, counter moved on
    with open_device("fido2-sim:qa-key") as again:
        auth = again.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id))
        assert assertion_ok(enr, auth)
        assert auth.counter is not None and first is not None and auth.counter > first


def test_fido2_sim_asks_the_interaction_for_its_pin(tmp_path: object) -> None:
    _new_state("pin-key", pin="4321")
    ui = ScriptedInteraction(["0000", "4321"])
    with open_device("fido2-sim:pin-key", interaction=ui) as dev:
        with pytest.raises(Fido2DeviceError, match="PIN_INVALID"):
            dev.enroll(EnrollRequest(rp_id=RP))
        enr = dev.enroll(EnrollRequest(rp_id=RP))  # asked again after the wrong PIN
        auth = dev.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id))
        assert isinstance(auth, Fido2Authentication)
        assert assertion_ok(enr, auth) and auth.flags & 0x04  # UV: the PIN was checked
    assert ui.events == ["pin", "pin"]
    with open_device("fido2-sim:pin-key", pin="4321") as dev:  # explicit pin= needs no interaction
        assert assertion_ok(enr, dev.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id)))


def test_fido2_sim_unknown_name() -> None:
    from tokens.errors import DeviceNotFoundError

    with pytest.raises(DeviceNotFoundError, match="no FIDO2 authenticator named 'nobody'"):
        open_device("fido2-sim:nobody")


def test_fido2_udp_roundtrip_with_touch_prompts(udp_server: UdpCtapHidServer) -> None:
    ui = ScriptedInteraction()
    with open_device(f"fido2-udp://127.0.0.1:{udp_server.port}?reply_port=0", interaction=ui) as dev:
        assert isinstance(dev, InteractiveFido2Device)
        assert "FIDO_2_1" in dev.info().details["versions"]
        _roundtrip(dev)
    assert ui.events == ["touch", "touch"]  # one per command that waited for a touch


def test_fido2_udp_nothing_listening_is_a_one_line_transport_error() -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound and silent: reports go nowhere
        with pytest.raises(TransportError) as ei:
            open_device(f"fido2-udp://127.0.0.1:{port}?reply_port=0&timeout=0.2")
    assert "\n" not in str(ei.value) and str(port) in str(ei.value)


def test_fido2_hid_first_key_found(udp_server: UdpCtapHidServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The UDP soft authenticator stands in for a USB key: python-fido2's CtapHidDevice over UDP."""
    import fido2.hid

    def fake_list() -> Iterator[fido2.hid.CtapHidDevice]:
        yield open_udp_device("127.0.0.1", udp_server.port, reply_port=0)

    monkeypatch.setattr(fido2.hid, "list_devices", fake_list)
    ui = ScriptedInteraction()
    with open_device("fido2-hid:", interaction=ui) as dev:
        assert dev.info().details["url"] == f"fido2-hid://udp://127.0.0.1:{udp_server.port}"
        _roundtrip(dev)
    assert "touch" in ui.events


def test_fido2_hid_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import fido2.hid

    monkeypatch.setattr(fido2.hid, "list_devices", lambda: iter(()))
    with pytest.raises(Fido2DeviceError, match="no FIDO2 security key found"):
        open_device("fido2-hid:")
    with pytest.raises(Fido2DeviceError, match="cannot open FIDO2 key /dev/tokensim-no-hidraw"):
        open_device("fido2-hid:///dev/tokensim-no-hidraw")


def test_a_python_fido2_user_interaction_works_as_the_hook() -> None:
    from fido2.client import UserInteraction

    from tokens.open.interaction import as_fido2

    asked: list[str | None] = []

    class Fido2Style(UserInteraction):
        def request_pin(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> str | None:
            asked.append(rp_id)
            return "9876"

    _new_state("fido2-style", pin="9876")
    with open_device("fido2-sim:fido2-style", interaction=Fido2Style()) as dev:
        enr = dev.enroll(EnrollRequest(rp_id=RP))
        assert assertion_ok(enr, dev.authenticate(AuthRequest(rp_id=RP, credential_id=enr.credential_id)))
    assert asked == [RP]  # asked once; the PIN is kept for the session
    # and the other way round: our scripted hook as python-fido2's UserInteraction
    ui = ScriptedInteraction("1111")
    bridged = as_fido2(ui)
    assert isinstance(bridged, UserInteraction)
    bridged.prompt_up()
    assert bridged.request_pin(ClientPin.PERMISSION.GET_ASSERTION, RP) == "1111"
    assert bridged.request_uv(ClientPin.PERMISSION.GET_ASSERTION, RP) is True
    assert ui.events == ["touch", "pin", "uv"]


def test_fido2_sim_is_locked_while_open() -> None:
    """Two writers would overwrite each other's counters: a second user is refused (one line)
    until the first closes; the lock is released on close."""
    import subprocess
    import sys

    _new_state("busy")
    code = ("import sys\nfrom tokens.open import open_device\n"
            "try:\n    open_device('fido2-sim:busy')\nexcept Exception as e:\n    print(e); sys.exit(3)\n")
    with open_device("fido2-sim:busy"):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert r.returncode == 3 and "in use by another process" in r.stdout
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_url_opened_key_drives_python_fido2_client_and_server(udp_server: UdpCtapHidServer) -> None:
    """The CtapDevice under a URL-opened key (UDP here, a HID key in real life) works with python-fido2's
    Fido2Client; Fido2Server verifies registration and login (an independent relying party)."""
    from fido2.client import DefaultClientDataCollector, Fido2Client
    from fido2.server import Fido2Server
    from fido2.webauthn import (
        PublicKeyCredentialRpEntity,
        PublicKeyCredentialUserEntity,
        UserVerificationRequirement,
    )

    from tokens.open.interaction import as_fido2

    ui = ScriptedInteraction()
    with open_device(f"fido2-udp://127.0.0.1:{udp_server.port}?reply_port=0", interaction=ui) as dev:
        assert isinstance(dev, InteractiveFido2Device)
        client = Fido2Client(dev.ctap_device, DefaultClientDataCollector("https://example.com"),
                             user_interaction=as_fido2(ui))
        server = Fido2Server(PublicKeyCredentialRpEntity(id=RP, name="Example"))
        opts, st = server.register_begin(PublicKeyCredentialUserEntity(id=b"u1", name="alice"),
                                         user_verification=UserVerificationRequirement.DISCOURAGED)
        reg = server.register_complete(st, client.make_credential(opts.public_key))
        assert reg.credential_data is not None
        opts2, st2 = server.authenticate_begin([reg.credential_data],
                                               user_verification=UserVerificationRequirement.DISCOURAGED)
        resp = client.get_assertion(opts2.public_key).get_response(0)
        assert server.authenticate_complete(st2, [reg.credential_data], resp) == reg.credential_data
    assert ui.events.count("touch") >= 2
