"""Each fixture of pytest_tokensim, checked against independent implementations."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from fido2.client import ClientError, DefaultClientDataCollector, Fido2Client
from fido2.ctap import CtapDevice
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity

from pytest_tokensim import DEFAULT_START, SimulatedSerialToken
from tokens.clock import ConstantTemperature, DriftModel, ManualClock
from tokens.device import AuthRequest, Capability, Device, DeviceKind, EnrollRequest
from tokens.otp import encode_secret
from tokens.virtual import VirtualHOTP, VirtualTOTP

pytest_plugins = ["pytester"]

RFC_SECRET = b"12345678901234567890"


def test_mfa_clock_starts_2026_and_only_moves_when_told(mfa_clock: ManualClock) -> None:
    assert mfa_clock.now() == DEFAULT_START == 1_767_225_600.0
    mfa_clock.advance(90)
    assert mfa_clock.now() == DEFAULT_START + 90


TotpFactory = Callable[..., VirtualTOTP]


def test_totp_factory_offset_and_ppm(totp_factory: TotpFactory, mfa_clock: ManualClock) -> None:
    tok = totp_factory(RFC_SECRET, offset=12.5, drift_ppm=20)
    app = pyotp.TOTP(encode_secret(RFC_SECRET))
    assert tok.device_time() == pytest.approx(mfa_clock.now() + 12.5)
    assert tok.code() == app.at(mfa_clock.now() + 12.5)
    mfa_clock.advance(30 * 86400)  # a month: 20 ppm ≈ 51.8 s
    ahead = 12.5 + 30 * 86400 * 20e-6
    assert tok.device_time() - mfa_clock.now() == pytest.approx(ahead)
    assert tok.code() == app.at(mfa_clock.now() + ahead)


def test_totp_factory_passes_token_parameters(totp_factory: Callable[..., VirtualTOTP],
                                              mfa_clock: ManualClock) -> None:
    tok = totp_factory(RFC_SECRET * 2, digits=8, period=60, algorithm="SHA256", account="qa@example.com")
    app = pyotp.TOTP(encode_secret(RFC_SECRET * 2), digits=8, interval=60, digest="sha256")
    assert tok.code() == app.at(mfa_clock.now())
    assert "qa%40example.com" in tok.uri() or "qa@example.com" in tok.uri()


def test_totp_factory_full_drift_model(totp_factory: TotpFactory, mfa_clock: ManualClock) -> None:
    hot = DriftModel(epoch=mfa_clock.now(), temperature=ConstantTemperature(45.0))  # 20 °C off turnover
    tok = totp_factory(drift=hot)
    mfa_clock.advance(86400)
    # parabolic crystal: -0.034 ppm/°C² * 20² ≈ -13.6 ppm → about 1.2 s slow after a day
    assert tok.device_time() - mfa_clock.now() == pytest.approx(-0.034 * 400 * 1e-6 * 86400, rel=0.01)


def test_totp_factory_random_secrets(totp_factory: TotpFactory) -> None:
    a, b = totp_factory(), totp_factory()
    assert a.secret != b.secret and len(a.secret) >= 20


def test_hotp_factory_matches_rfc4226(hotp_factory: Callable[..., VirtualHOTP]) -> None:
    tok = hotp_factory(RFC_SECRET, counter=3)
    hotp = pyotp.HOTP(encode_secret(RFC_SECRET))
    assert tok.peek() == hotp.at(3) == "969429"  # RFC 4226 appendix D
    assert [tok.code(), tok.code()] == [hotp.at(3), hotp.at(4)]
    assert tok.counter == 5


def test_mfa_verifier_is_sqlite_in_tmp_path_on_the_test_clock(mfa_verifier: object, tmp_path: Path,
                                                              totp_factory: Callable[..., VirtualTOTP],
                                                              mfa_clock: ManualClock) -> None:
    from tokens.verifier import SQLiteStore, Verifier

    assert isinstance(mfa_verifier, Verifier) and isinstance(mfa_verifier.store, SQLiteStore)
    db = tmp_path / "tokensim-verifier.sqlite3"
    assert db.exists() and oct(os.stat(db).st_mode & 0o777) == "0o600"
    tok = totp_factory()
    mfa_verifier.register("t1", tok.secret)
    first = tok.code()
    mfa_clock.advance(30)
    assert mfa_verifier.enable("t1", first, tok.code()).ok
    mfa_clock.advance(30)
    assert mfa_verifier.verify("t1", tok.code()).ok  # no at=: the verifier reads mfa_clock
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM credentials").fetchone() == (1,)


def _server_and_client(dev: CtapDevice) -> tuple[Fido2Server, Fido2Client]:
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="Example"))
    return server, Fido2Client(dev, client_data_collector=DefaultClientDataCollector("https://example.com"))


def test_fido2_authenticator_registers_with_python_fido2_server(fido2_authenticator: CtapDevice) -> None:
    assert isinstance(fido2_authenticator, CtapDevice)
    server, client = _server_and_client(fido2_authenticator)
    options, state = server.register_begin(PublicKeyCredentialUserEntity(id=b"u1", name="u1"),
                                           user_verification="discouraged")
    auth_data = server.register_complete(state, client.make_credential(options.public_key))
    assert auth_data.credential_data is not None and auth_data.is_user_present()


def test_fido2_factory_with_uv_and_a_refusing_user(
        fido2_authenticator_factory: Callable[..., CtapDevice]) -> None:
    from tokens.fido2 import Deny

    server, client = _server_and_client(fido2_authenticator_factory(uv="auto"))
    options, state = server.register_begin(PublicKeyCredentialUserEntity(id=b"u2", name="u2"),
                                           user_verification="required")
    assert server.register_complete(state, client.make_credential(options.public_key)).is_user_verified()

    server, client = _server_and_client(fido2_authenticator_factory(presence=Deny()))
    options, _ = server.register_begin(PublicKeyCredentialUserEntity(id=b"u3", name="u3"),
                                       user_verification="discouraged")
    with pytest.raises(ClientError):
        client.make_credential(options.public_key)


def test_fido2_device_is_a_tokensim_device(fido2_device: Device) -> None:
    assert fido2_device.kind is DeviceKind.FIDO2
    assert Capability.SIMULATED in fido2_device.capabilities
    enr = fido2_device.enroll(EnrollRequest(account="alice", rp_id="example.com"))
    auth = fido2_device.authenticate(AuthRequest(rp_id="example.com", credential_id=enr.credential_id))
    assert auth.credential_id == enr.credential_id and auth.signature


def test_serial_token_on_a_pty(serial_token: Device, mfa_clock: ManualClock) -> None:
    assert serial_token.kind is DeviceKind.SERIAL
    assert Capability.SLOTS in serial_token.capabilities
    enr = serial_token.enroll(EnrollRequest(slot=1, secret=RFC_SECRET))
    assert enr.secret == RFC_SECRET
    code = serial_token.authenticate(AuthRequest(slot=1)).code
    assert code == pyotp.TOTP(encode_secret(RFC_SECRET)).at(mfa_clock.now())


def test_serial_token_factory_gives_firmware_and_pty(
        serial_token_factory: Callable[..., SimulatedSerialToken], mfa_clock: ManualClock) -> None:
    sim = serial_token_factory(offset=-65, slots=2, serial="TS12345678")
    assert sim.url.startswith("/dev/") and os.path.exists(sim.url)
    assert sim.token.identity == "TS12345678" == sim.firmware.serial
    sim.token.enroll(EnrollRequest(slot=0, secret=RFC_SECRET))
    assert sim.token.authenticate(AuthRequest(slot=0)).code == \
        pyotp.TOTP(encode_secret(RFC_SECRET)).at(mfa_clock.now() - 65)


def test_serial_factory_teardown_stops_the_simulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner="""
        import pathlib

        def test_make(serial_token_factory):
            sim = serial_token_factory()
            pathlib.Path("url.txt").write_text(sim.url)
            assert any(t.name == f"tokensim-runner {sim.url}" for t in __import__("threading").enumerate())
    """)
    pytester.inline_run("-p", "no:cacheprovider", "-q").assertoutcome(passed=1)
    url = (pytester.path / "url.txt").read_text()
    assert url.startswith("/dev/")
    assert not any(t.name == f"tokensim-runner {url}" for t in threading.enumerate())


def test_mfa_aws_checks_codes_on_the_test_clock(mfa_aws: object, aws_serve: object,
                                                mfa_clock: ManualClock) -> None:
    from tokens.aws import AwsApiError, AwsSession, enroll_virtual_mfa, get_mfa_session
    from tokens.awsserver import AwsServer
    from tokens.store import DeviceStore

    assert isinstance(mfa_aws, AwsSession) and isinstance(aws_serve, AwsServer)
    assert mfa_aws.options.endpoint_url == aws_serve.url and aws_serve.url.startswith("http://127.0.0.1:")
    mfa_aws.iam.call("CreateUser", UserName="qa")
    store = DeviceStore(reference=mfa_clock)
    assert enroll_virtual_mfa(mfa_aws.iam, "qa", store=store).qr_verified  # a real QR code
    serial = store.meta("qa")["aws"]["serial_number"]
    mfa_clock.advance(30)
    assert get_mfa_session(mfa_aws.sts, store.get("qa"), serial).session_token
    with pytest.raises(AwsApiError, match="AccessDenied"):  # the same code again
        get_mfa_session(mfa_aws.sts, store.get("qa"), serial)
    with pytest.raises(AwsApiError, match="AccessDenied"):  # a code from another seed
        mfa_clock.advance(30)
        get_mfa_session(mfa_aws.sts, VirtualTOTP(reference=mfa_clock), serial)


def test_plugin_loads_without_importing_tokensim() -> None:
    """The plugin loads in every pytest run: only pytest and the standard library at import time."""
    import subprocess
    import sys

    blocked = ["tokens", "hw", "firmware_sim", "bench", "boto3", "botocore", "fido2", "serial", "uvicorn",
               "starlette"]
    code = ("import sys\n"
            f"for m in {blocked!r}: sys.modules[m] = None\n"
            "import pytest_tokensim as p\n"
            f"assert not [m for m in sys.modules if m.split('.')[0] in {blocked!r} and sys.modules[m]]\n"
            "print(sorted(n for n in dir(p) if n.endswith('_factory')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "totp_factory" in out.stdout and "serial_token_factory" in out.stdout


# ---------------------------------------------------------------- registration (was test_docs_example.py)

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("tokensim") == "pytest_tokensim"


def test_policy_override_from_the_docs(pytester: pytest.Pytester) -> None:
    """docs/pytest.md's conftest snippet really changes the policy mfa_verifier uses."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [snippet] = [b for b in blocks if b.startswith("import pytest\nfrom tokens.verifier import Policy")]
    pytester.makeconftest(snippet)
    pytester.makepyfile(test_policy="""
        from tokens.verifier import Status

        def test_override(mfa_verifier, totp_factory, mfa_clock):
            assert mfa_verifier.policy.look_ahead == 0 and mfa_verifier.policy.throttle_after == 5
            token = totp_factory(offset=30)              # one step fast: outside a zero window
            mfa_verifier.register("bob", token.secret, status=Status.ACTIVE)
            assert mfa_verifier.verify("bob", token.code()).reason.value == "invalid"
            mfa_clock.advance(30)
            assert mfa_verifier.verify("bob", token.consecutive(1, at=mfa_clock.now() - 30)[0]).ok
    """)
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q").assert_outcomes(passed=1)


def test_plugin_can_be_switched_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(mfa_clock):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:tokensim", "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'mfa_clock' not found*"])
