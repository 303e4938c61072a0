"""tokensim's pytest plugin (entry point ``pytest11``, name ``tokensim``): MFA devices as fixtures.

Active whenever tokensim is installed; see docs/pytest.md for a worked example.  Switch it off for
one run with ``pytest -p no:tokensim``.

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

This module is loaded by every pytest run on a machine where tokensim is installed, so it is a
uniquely named top-level module and imports nothing but pytest and the standard library when it
loads; each fixture imports the parts of tokensim it needs when a test uses it.  A project whose
own top-level ``tokens`` module shadows tokensim's package still loads the plugin; only a test
that uses one of these fixtures fails, with one line saying which module shadows which (the
choice documented in docs/pytest.md).  ``hw`` and ``firmware_sim`` are loaded from tokensim's
install even where a same-named folder comes first on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from firmware_sim.firmware import Firmware
    from firmware_sim.runner import PtyRunner
    from hw.token import SerialToken
    from tokens.aws import AwsSession
    from tokens.awsserver import AwsServer
    from tokens.browser.rp_app import RPServer
    from tokens.browser.webauthn import VirtualWebAuthn
    from tokens.clock import DriftModel, ManualClock, TemperatureProfile
    from tokens.fido2 import SoftCtapDevice
    from tokens.fido2.device import Fido2Device
    from tokens.otp import Algorithm
    from tokens.verifier import Policy, Verifier
    from tokens.virtual import VirtualHOTP, VirtualTOTP

DEFAULT_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SERIAL_PIN = "123456"  # PIN of the simulated serial tokens made here
_HERE = Path(__file__).resolve().parent  # tokensim's packages are this module's siblings


def _tokens_shadowed_by() -> str | None:
    """Where ``import tokens`` loads from when that is not tokensim's package (say, a project's own
    ``tokens.py`` that comes first on ``sys.path``); None when it is tokensim's or not found.

    tokensim installs ``tokens`` next to this module (site-packages, or the source checkout of an
    editable install).  Decided without running the other module's code when it is not imported.
    """
    mod = sys.modules.get("tokens")
    if mod is not None:
        origin = getattr(mod, "__file__", None)
    else:
        try:
            spec = importlib.util.find_spec("tokens")
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        origin = spec.origin if spec.has_location else None
    if origin is not None and Path(origin).resolve() == _HERE / "tokens" / "__init__.py":
        return None
    return str(origin or "a namespace package 'tokens'")


def _require(*siblings: str) -> None:
    """Fail the test with one line when tokensim's ``tokens`` package is shadowed; load tokensim's
    own ``hw``/``firmware_sim`` even where a same-named folder comes first on ``sys.path``."""
    where = _tokens_shadowed_by()
    if where is not None:
        pytest.fail(f"tokensim: this project's own module 'tokens' ({where}) shadows tokensim's 'tokens' "
                    "package, so tokensim's fixtures cannot run here; rename that module or run pytest "
                    "with -p no:tokensim", pytrace=False)
    if siblings:
        from tokens._imports import ShadowedModuleError, prefer_own

        try:
            prefer_own(*siblings)
        except ShadowedModuleError as e:
            pytest.fail(f"tokensim: {e}", pytrace=False)


_T = TypeVar("_T")


def _made_by(build: Callable[..., _T], teardown: Callable[[_T], object]) -> Iterator[Callable[..., _T]]:
    """The body of a factory fixture (``yield from``): yields ``build``, recording what it builds,
    and after the test calls ``teardown`` on each, in the order they were made."""
    made: list[_T] = []

    def make(*args: Any, **kw: Any) -> _T:
        obj = build(*args, **kw)
        made.append(obj)
        return obj

    yield make
    for obj in made:
        teardown(obj)


def _close(obj: Any) -> None:
    obj.close()


@pytest.fixture
def mfa_clock() -> ManualClock:
    """A manual reference clock starting at 2026-01-01T00:00:00Z; move it with ``advance``."""
    _require()
    from tokens.clock import ManualClock

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
    from tokens.clock import DriftModel
    from tokens.virtual import VirtualTOTP

    def make(secret: bytes | None = None, *, drift_ppm: float = 0.0, offset: float = 0.0,
             aging_ppm_per_year: float = 0.0, temperature: TemperatureProfile | None = None,
             jitter: float = 0.0, seed: int = 0, drift: DriftModel | None = None, period: int = 30,
             digits: int = 6, algorithm: Algorithm | str = "SHA1", **kw: Any) -> VirtualTOTP:
        if drift is None:
            drift = DriftModel(ppm=drift_ppm, offset=offset, epoch=mfa_clock.now(),
                               aging_ppm_per_year=aging_ppm_per_year, temperature=temperature,
                               jitter=jitter, seed=seed)
        return VirtualTOTP(secret, reference=mfa_clock, drift=drift, period=period, digits=digits,
                           algorithm=algorithm, **kw)

    yield from _made_by(make, _close)


@pytest.fixture
def hotp_factory() -> Iterator[Callable[..., VirtualHOTP]]:
    """``hotp_factory(secret=None, *, counter=0, digits=6, algorithm="SHA1", ...)`` → a VirtualHOTP.

    Each ``code()`` is a button press (the counter moves on); ``peek()`` looks without pressing.
    """
    _require()
    from tokens.virtual import VirtualHOTP

    yield from _made_by(VirtualHOTP, _close)


# --------------------------------------------------------------------------- verifier


@pytest.fixture
def mfa_verifier_policy() -> Policy:
    """The verifier policy of ``mfa_verifier``; override this fixture in a conftest to change it."""
    _require()
    from tokens.verifier import DEFAULT_POLICY

    return DEFAULT_POLICY


@pytest.fixture
def mfa_verifier(tmp_path: Path, mfa_clock: ManualClock, mfa_verifier_policy: Policy) -> Iterator[Verifier]:
    """A :class:`~tokens.verifier.Verifier` on a fresh SQLite file in ``tmp_path``, reading mfa_clock."""
    from tokens.verifier import SQLiteStore, Verifier

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
        from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

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
    from tokens.fido2.device import Fido2Device

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
    _require("hw", "firmware_sim")

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
        return SimulatedSerialToken(token, fw, runner)

    def teardown(sim: SimulatedSerialToken) -> None:
        try:
            sim.token.close()
        finally:
            sim.runner.stop()

    yield from _made_by(make, teardown)


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
    from tokens.awsserver import AwsServer

    opts: dict[str, Any] = dict(getattr(request, "param", None) or {})
    policies = [("policy", p) if isinstance(p, str) else p for p in opts.get("policies", ())]
    clock = opts.get("clock", mfa_clock)
    with AwsServer(tmp_path / "tokensim-aws-serve.sqlite3", clock=clock, policies=policies) as server:
        yield server


@pytest.fixture
def mfa_aws(aws_serve: AwsServer) -> AwsSession:
    """A :class:`tokens.aws.AwsSession` (real boto3 clients) for ``aws_serve``, as its administrator."""
    from tokens.aws import AwsOptions, AwsSession

    admin = aws_serve.backend.admin
    return AwsSession(AwsOptions(endpoint_url=aws_serve.url, region="us-east-1", max_attempts=1,
                                 access_key_id=admin.access_key_id, secret_access_key=admin.secret))


# --------------------------------------------------------------------------- browser (tokens.browser)
# compose with pytest-playwright's ``page`` / ``context``; docs/browser.md


_BROWSER_MARKERS = (
    "webauthn_pin(pin): the `webauthn` fixture's authenticator has this PIN set; the bridge answers with it",
    "webauthn_uv(mode): built-in user verification of the `webauthn` authenticator: none, auto or deny",
    "webauthn_attestation(mode): attestation of the `webauthn` authenticator: none, self or batch",
)


def _configure_browser(config: pytest.Config) -> None:
    """Register the markers, and let a pytest run nested
    in-process (pytester) inside a pytest-playwright session work."""
    for line in _BROWSER_MARKERS:
        config.addinivalue_line("markers", line)
    _park_outer_soft_scope(config)


def _park_outer_soft_scope(config: pytest.Config) -> None:
    """pytest-playwright opens a soft-assertion scope around every test and refuses a nested one, so a
    pytest session run in-process inside a test (``pytester.runpytest_inprocess``) fails every test.
    Park the outer test's scope while the inner session runs, and put it back when it ends.  Only
    when pytest-playwright is already loaded (nothing is imported here)."""
    assertions = sys.modules.get("playwright._impl._assertions")
    outer = getattr(assertions, "_soft_errors", None)
    if assertions is None or outer is None:
        return
    assertions._soft_errors = None  # type: ignore[attr-defined]
    config.add_cleanup(lambda: setattr(assertions, "_soft_errors", outer))


def _marker_arg(request: pytest.FixtureRequest, name: str) -> Any:
    mark = request.node.get_closest_marker(name)
    if mark is None:
        return None
    if len(mark.args) != 1:
        raise pytest.UsageError(f"@pytest.mark.{name} takes exactly one argument")
    return mark.args[0]


@pytest.fixture
def webauthn_factory(mfa_clock: ManualClock) -> Iterator[Callable[..., VirtualWebAuthn]]:
    """``webauthn_factory(target=None, authenticator=None, *, pin=None, uv=None, attestation=None,
    **bridge_options)`` -> a :class:`~tokens.browser.VirtualWebAuthn`, attached to ``target`` (a
    BrowserContext or Page) when given.  Without ``authenticator`` a fresh soft authenticator on
    ``mfa_clock`` is made with that ``uv`` / ``attestation`` mode and ``pin`` set."""
    _require()

    def make(target: Any = None, authenticator: Any = None, *, pin: str | None = None, uv: str | None = None,
             attestation: str | None = None, **kw: Any) -> VirtualWebAuthn:
        from tokens.browser.webauthn import VirtualWebAuthn

        if authenticator is None:
            from fido2.ctap2.base import Ctap2
            from fido2.ctap2.pin import ClientPin

            from tokens.fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

            state = AuthenticatorState.new(uv=uv or "none", attestation=attestation or "self")
            authenticator = Authenticator(state, clock=mfa_clock)
            if pin is not None:
                ClientPin(Ctap2(SoftCtapDevice(authenticator))).set_pin(pin)
        bridge = VirtualWebAuthn(authenticator, pin=pin, clock=mfa_clock, **kw)
        if target is not None:
            try:
                bridge.attach(target)
            except BaseException:
                bridge.close()
                raise
        return bridge

    yield from _made_by(make, _close)


@pytest.fixture
def webauthn(request: pytest.FixtureRequest, context: Any,
             webauthn_factory: Callable[..., VirtualWebAuthn]) -> VirtualWebAuthn:
    """A tokensim soft authenticator answering WebAuthn in every page of pytest-playwright's ``context``."""
    return webauthn_factory(context, pin=_marker_arg(request, "webauthn_pin"),
                            uv=_marker_arg(request, "webauthn_uv"),
                            attestation=_marker_arg(request, "webauthn_attestation"))


@pytest.fixture
def totp_from_page(mfa_clock: ManualClock) -> Callable[..., VirtualTOTP]:
    """``totp_from_page(page, selector=None, *, secret_selector=None, region=None, drift=None, ...)``:
    become the authenticator app for an enrollment page; the device's clock runs on ``mfa_clock``."""
    from tokens.browser.totp import totp_from_page as read

    def make(page: Any, selector: str | None = None, **kw: Any) -> VirtualTOTP:
        kw.setdefault("reference", mfa_clock)
        return read(page, selector, **kw)

    return make


@pytest.fixture
def demo_rp_factory(mfa_clock: ManualClock) -> Iterator[Callable[..., RPServer]]:
    """``demo_rp_factory(verifier="fido2")`` -> a started demo RP (``.url``, ``.rp`` its state)."""
    def make(verifier: str = "fido2") -> RPServer:
        from tokens.browser.rp_app import RPServer
        from tokens.browser.rp_model import RelyingParty

        return RPServer(RelyingParty(clock=mfa_clock, verifier=verifier)).start()

    yield from _made_by(make, lambda server: server.stop())


@pytest.fixture
def demo_rp(demo_rp_factory: Callable[..., RPServer]) -> RPServer:
    """The demo relying party (TOTP + WebAuthn) at ``demo_rp.url`` (http://localhost:PORT)."""
    return demo_rp_factory()


def pytest_configure(config: pytest.Config) -> None:
    _configure_browser(config)
