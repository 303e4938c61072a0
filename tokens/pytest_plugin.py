"""pytest plugin (entry point ``pytest11``): fixtures for scripting MFA devices in your own tests.

Active whenever tokensim is installed; see docs/pytest.md for a worked example.

    mfa_clock                    ManualClock at 2026-01-01T00:00:00Z — the reference time of the test
    totp_factory(...)            VirtualTOTP on mfa_clock, with a drift model (ppm, offset, aging ...)
    hotp_factory(...)            VirtualHOTP
    mfa_verifier                 Verifier on a temporary SQLite store, reading mfa_clock
    mfa_verifier_policy          the Policy mfa_verifier uses (override this fixture to change it)
    fido2_authenticator          software CTAP 2.1 authenticator as a fido2.ctap.CtapDevice
    fido2_authenticator_factory(...)  the same with options (uv, attestation, presence ...)
    fido2_device                 fido2_authenticator behind the tokensim Device interface
    serial_token                 simulated serial OTP token on a real pty, driven by hw.SerialToken
    serial_token_factory(...)    the same with options; returns a SimulatedSerialToken
    aws_serve                    a local AWS on mfa_clock: MFA codes verified, every request authorised
    mfa_aws                      tokens.aws.AwsSession (boto3) pointed at aws_serve, as its administrator

Devices read ``mfa_clock``: move it with ``mfa_clock.advance(seconds)`` — tests never sleep.
Fixtures for optional parts (verifier, FIDO2, serial, AWS) import them inside the fixture, so this
plugin loads even where a part or its dependencies are missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .clock import DriftModel, ManualClock, TemperatureProfile
from .otp import Algorithm
from .virtual import VirtualHOTP, VirtualTOTP

if TYPE_CHECKING:
    from firmware_sim.firmware import Firmware
    from firmware_sim.runner import PtyRunner
    from hw.token import SerialToken

    from .aws import AwsSession
    from .awsserver import AwsServer
    from .fido2 import SoftCtapDevice
    from .fido2.device import Fido2Device
    from .verifier import Policy, Verifier

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SERIAL_PIN = "123456"  # PIN of the simulated serial tokens made here


@pytest.fixture
def mfa_clock() -> ManualClock:
    """A manual reference clock starting at 2026-01-01T00:00:00Z; move it with ``advance``."""
    return ManualClock(DEFAULT_START)


# --------------------------------------------------------------------------- OTP tokens


@pytest.fixture
def totp_factory(mfa_clock: ManualClock) -> Iterator[Callable[..., VirtualTOTP]]:
    """Build virtual TOTP tokens whose own clocks drift against ``mfa_clock``.

    ``totp_factory(secret=None, *, drift_ppm=0, offset=0, aging_ppm_per_year=0, temperature=None,
    jitter=0, seed=0, drift=None, period=30, digits=6, algorithm="SHA1", account=..., issuer=...)``

    ``offset`` is how many seconds the token is ahead now; ``drift_ppm`` its frequency error from
    now on (+20 ppm ≈ 52 s a month fast).  Pass a whole :class:`~tokens.clock.DriftModel` as
    ``drift`` for full control.  A random secret is used when ``secret`` is None.
    """
    made: list[VirtualTOTP] = []

    def make(secret: bytes | None = None, *, drift_ppm: float = 0.0, offset: float = 0.0,
             aging_ppm_per_year: float = 0.0, temperature: TemperatureProfile | None = None,
             jitter: float = 0.0, seed: int = 0, drift: DriftModel | None = None, period: int = 30,
             digits: int = 6, algorithm: Algorithm | str = Algorithm.SHA1, **kw: Any) -> VirtualTOTP:
        if drift is None:
            drift = DriftModel(ppm=drift_ppm, offset=offset, epoch=mfa_clock.now(),
                               aging_ppm_per_year=aging_ppm_per_year, temperature=temperature,
                               jitter=jitter, seed=seed)
        dev = VirtualTOTP(secret, reference=mfa_clock, drift=drift, period=period, digits=digits,
                          algorithm=algorithm, **kw)
        made.append(dev)
        return dev

    yield make
    for d in made:
        d.close()


@pytest.fixture
def hotp_factory() -> Iterator[Callable[..., VirtualHOTP]]:
    """``hotp_factory(secret=None, *, counter=0, digits=6, algorithm="SHA1", ...)`` → a VirtualHOTP.

    Each ``code()`` is a button press (the counter moves on); ``peek()`` looks without pressing.
    """
    made: list[VirtualHOTP] = []

    def make(secret: bytes | None = None, **kw: Any) -> VirtualHOTP:
        dev = VirtualHOTP(secret, **kw)
        made.append(dev)
        return dev

    yield make
    for d in made:
        d.close()


# --------------------------------------------------------------------------- verifier


@pytest.fixture
def mfa_verifier_policy() -> Policy:
    """The verifier policy of ``mfa_verifier``; override this fixture in a conftest to change it."""
    from .verifier import DEFAULT_POLICY

    return DEFAULT_POLICY


@pytest.fixture
def mfa_verifier(tmp_path: Path, mfa_clock: ManualClock, mfa_verifier_policy: Policy) -> Iterator[Verifier]:
    """A :class:`~tokens.verifier.Verifier` on a fresh SQLite file in ``tmp_path``, reading mfa_clock."""
    from .verifier import SQLiteStore, Verifier

    store = SQLiteStore(tmp_path / "tokensim-verifier.sqlite3")
    try:
        yield Verifier(store, mfa_verifier_policy, clock=mfa_clock)
    finally:
        store.close()


# --------------------------------------------------------------------------- FIDO2


@pytest.fixture
def fido2_authenticator_factory(mfa_clock: ManualClock) -> Callable[..., SoftCtapDevice]:
    """``fido2_authenticator_factory(presence=None, biometric=None, **state)`` → a SoftCtapDevice.

    ``state`` goes to :meth:`tokens.fido2.AuthenticatorState.new` (``uv``, ``attestation``,
    ``algorithms``, ``counter_mode``, ``capacity`` ...); ``presence`` answers touch requests
    (default: approve).  The result is a ``fido2.ctap.CtapDevice``: hand it to ``Fido2Client``.
    """

    def make(presence: Any = None, biometric: Any = None, **state: Any) -> SoftCtapDevice:
        from .fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

        auth = Authenticator(AuthenticatorState.new(**state), presence=presence, biometric=biometric,
                             clock=mfa_clock)
        return SoftCtapDevice(auth)

    return make


@pytest.fixture
def fido2_authenticator(fido2_authenticator_factory: Callable[..., SoftCtapDevice]) -> SoftCtapDevice:
    """A fresh in-memory software FIDO2 authenticator that approves every touch."""
    return fido2_authenticator_factory()


@pytest.fixture
def fido2_device(fido2_authenticator: SoftCtapDevice) -> Iterator[Fido2Device]:
    """``fido2_authenticator`` as a :class:`tokens.device.Device` (enroll = makeCredential ...)."""
    from .fido2.device import Fido2Device

    dev = Fido2Device(fido2_authenticator, model="tokensim software authenticator")
    yield dev
    dev.close()


# --------------------------------------------------------------------------- serial token


@dataclass
class SimulatedSerialToken:
    """A simulated serial token: the driver (a tokensim Device) and the firmware behind the pty."""

    token: SerialToken  # hw.token.SerialToken talking over the pty
    firmware: Firmware  # the simulated firmware: press_button(), state(), its RTC ...
    runner: PtyRunner  # serves the firmware on the pty

    @property
    def url(self) -> str:
        """The pty's path (/dev/pts/N): open it yourself with ``SerialToken.open(url, pin=...)``."""
        return self.runner.url


@pytest.fixture
def serial_token_factory(mfa_clock: ManualClock) -> Iterator[Callable[..., SimulatedSerialToken]]:
    """``serial_token_factory(drift_ppm=0, offset=0, slots=4, pin="123456", button=False, ...)``.

    Builds the firmware (``firmware_sim.build.make_firmware`` arguments; its RTC drifts against
    ``mfa_clock``), serves it on a new pseudo-terminal and opens ``hw.token.SerialToken`` on it.
    Everything is closed and stopped at teardown.
    """
    made: list[SimulatedSerialToken] = []

    def make(*, pin: str = SERIAL_PIN, timeout: float = 2.0, **firmware: Any) -> SimulatedSerialToken:
        from firmware_sim.build import make_firmware
        from firmware_sim.runner import PtyRunner
        from hw.token import SerialToken

        fw = make_firmware(reference=mfa_clock, pin=pin, **firmware)
        runner = PtyRunner(fw)
        runner.start()
        try:
            token = SerialToken.open(runner.url, pin=pin, timeout=timeout)
        except BaseException:
            runner.stop()
            raise
        sim = SimulatedSerialToken(token, fw, runner)
        made.append(sim)
        return sim

    yield make
    for sim in made:
        try:
            sim.token.close()
        finally:
            sim.runner.stop()


@pytest.fixture
def serial_token(serial_token_factory: Callable[..., SimulatedSerialToken]) -> SerialToken:
    """A simulated serial OTP token (4 slots, PIN 123456, no drift) on a real pty."""
    return serial_token_factory().token


# --------------------------------------------------------------------------- AWS


@pytest.fixture
def aws_serve(request: pytest.FixtureRequest, tmp_path: Path, mfa_clock: ManualClock) -> Iterator[AwsServer]:
    """``tokensim aws serve`` in a thread on 127.0.0.1 (free port), its state in ``tmp_path``.

    IAM and STS are tokensim's (codes verified on ``mfa_clock``, real QR codes), every other
    service moto's; each request is SigV4-checked and authorised.  ``server.backend.admin`` holds
    the administrator's keys.  Options by indirect parametrization:
    ``@pytest.mark.parametrize("aws_serve", [{"policies": [...], "clock": ManualClock(...)}],
    indirect=True)`` — ``policies`` (JSON text, (name, JSON) pairs or PolicyDocuments) attach to
    every IAM user but the administrator; ``clock`` replaces ``mfa_clock``.
    Needs the ``aws`` and ``service`` extras.
    """
    from .awsserver import AwsServer

    opts: dict[str, Any] = dict(getattr(request, "param", None) or {})
    policies = [("policy", p) if isinstance(p, str) else p for p in opts.get("policies", ())]
    clock = opts.get("clock", mfa_clock)
    with AwsServer(tmp_path / "tokensim-aws-serve.sqlite3", clock=clock, policies=policies) as server:
        yield server


@pytest.fixture
def mfa_aws(aws_serve: AwsServer) -> AwsSession:
    """A :class:`tokens.aws.AwsSession` (real boto3 clients) for ``aws_serve``, as its administrator."""
    from .aws import AwsOptions, AwsSession

    admin = aws_serve.backend.admin
    return AwsSession(AwsOptions(endpoint_url=aws_serve.url, region="us-east-1", max_attempts=1,
                                 access_key_id=admin.access_key_id, secret_access_key=admin.secret))
