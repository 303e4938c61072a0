"""pytest fixtures for browser MFA tests; they compose with pytest-playwright's ``page`` / ``context``.

Registered by tokensim's pytest plugin (all import Playwright-free code only, lazily)::

    webauthn                 a VirtualWebAuthn attached to ``context`` (markers choose PIN/UV/attestation)
    webauthn_factory(...)    more of them: ``webauthn_factory(target, authenticator=None, pin=..., uv=...,
                             attestation=..., platform=False)``
    totp_from_page(page, selector=None, **kw)   a VirtualTOTP from the page's QR code, on ``mfa_clock``
    demo_rp                  the demo relying party on a free port, its clock ``mfa_clock``
    demo_rp_factory(verifier="fido2"|"py_webauthn")

Markers (on a test or a module)::

    @pytest.mark.webauthn_pin("1234")        the authenticator has this PIN; the bridge types it
    @pytest.mark.webauthn_uv("auto")         built-in UV: none (default), auto (matches), deny
    @pytest.mark.webauthn_attestation("batch")   none, self (default) or batch (x5c chain)

``browser_type_launch_args`` is NOT registered: import it into your conftest.py to launch the
system's Chromium when Playwright has not downloaded its own (``from
tokens.browser.pytest_fixtures import browser_type_launch_args``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..clock import ManualClock
    from ..virtual import VirtualTOTP
    from .rp_app import RPServer
    from .webauthn import VirtualWebAuthn

MARKERS = (
    "webauthn_pin(pin): the `webauthn` fixture's authenticator has this PIN set; the bridge answers with it",
    "webauthn_uv(mode): built-in user verification of the `webauthn` authenticator: none, auto or deny",
    "webauthn_attestation(mode): attestation of the `webauthn` authenticator: none, self or batch",
)


def configure(config: pytest.Config) -> None:
    """Called from the plugin's ``pytest_configure``: register the markers, and let a pytest run nested
    in-process (pytester) inside a pytest-playwright session work."""
    for line in MARKERS:
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
    made: list[VirtualWebAuthn] = []

    def make(target: Any = None, authenticator: Any = None, *, pin: str | None = None, uv: str | None = None,
             attestation: str | None = None, **kw: Any) -> VirtualWebAuthn:
        from .webauthn import VirtualWebAuthn

        if authenticator is None:
            from fido2.ctap2.base import Ctap2
            from fido2.ctap2.pin import ClientPin

            from ..fido2 import Authenticator, AuthenticatorState, SoftCtapDevice

            state = AuthenticatorState.new(uv=uv or "none", attestation=attestation or "self")
            authenticator = Authenticator(state, clock=mfa_clock)
            if pin is not None:
                ClientPin(Ctap2(SoftCtapDevice(authenticator))).set_pin(pin)
        bridge = VirtualWebAuthn(authenticator, pin=pin, clock=mfa_clock, **kw)
        made.append(bridge)
        if target is not None:
            bridge.attach(target)
        return bridge

    yield make
    for bridge in made:
        bridge.close()


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
    from .totp import totp_from_page as read

    def make(page: Any, selector: str | None = None, **kw: Any) -> VirtualTOTP:
        kw.setdefault("reference", mfa_clock)
        return read(page, selector, **kw)

    return make


@pytest.fixture
def demo_rp_factory(mfa_clock: ManualClock) -> Iterator[Callable[..., RPServer]]:
    """``demo_rp_factory(verifier="fido2")`` -> a started demo RP (``.url``, ``.rp`` its state)."""
    servers: list[RPServer] = []

    def make(verifier: str = "fido2") -> RPServer:
        from .rp_app import RPServer
        from .rp_model import RelyingParty

        server = RPServer(RelyingParty(clock=mfa_clock, verifier=verifier)).start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def demo_rp(demo_rp_factory: Callable[..., RPServer]) -> RPServer:
    """The demo relying party (TOTP + WebAuthn) at ``demo_rp.url`` (http://localhost:PORT)."""
    return demo_rp_factory()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments plus the system Chromium when Playwright has none of its own.

    Fails (never skips) when there is no Chromium at all: a browser suite that silently skips in CI
    tests nothing."""
    from .errors import BrowserUnavailableError
    from .launch import chromium_executable

    try:
        exe = chromium_executable()
    except BrowserUnavailableError as e:
        pytest.fail(str(e), pytrace=False)
    return {**browser_type_launch_args, **({"executable_path": exe} if exe else {})}
