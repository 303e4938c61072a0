"""``tokensim demo-rp``: the demo relying party (TOTP + security keys/passkeys) for browser tests.

Serves until SIGINT/SIGTERM after printing one JSON line ``{"event": "ready", "url": ...}``.
``--headed`` opens a visible Chromium on it with a tokensim soft authenticator (or ``--authenticator
URL``) answering WebAuthn; ``--walk`` clicks through the scripted tour in that browser (headless
unless ``--headed``), prints each step as JSON and exits.  Also contributes the browser section of
``tokensim demo``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from . import output
from .common import port_number


def _launch(headed: bool, slow_mo: int) -> tuple[Any, Any]:
    from playwright.sync_api import sync_playwright

    from ..browser.errors import BrowserUnavailableError
    from ..browser.launch import launch_options

    if headed and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise BrowserUnavailableError("--headed needs a display (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    opts = launch_options(headless=not headed, slow_mo=slow_mo)
    pw = sync_playwright().start()
    try:
        return pw, pw.chromium.launch(**opts)
    except Exception as e:  # playwright's Error: many lines of browser log; keep the first
        pw.stop()
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise BrowserUnavailableError(f"Chromium did not start: {first}") from None
    except BaseException:
        pw.stop()
        raise


def _serve(args: argparse.Namespace) -> int:
    from ..browser.rp_app import RPServer
    from ..browser.rp_model import RelyingParty
    from ..clock import ManualClock

    if not args.walk:
        server = RPServer(RelyingParty(verifier=args.verifier), host=args.host, port=args.port,
                          on_ready=lambda s: output.server_ready(s.info()))
        if not args.headed:
            server.run()
            output.server_stopped()
            return 0
        return _headed(server, args)

    from ..browser.walkthrough import steps_json, walk

    clock = ManualClock(time.time())  # the tour moves time on by hours without waiting
    with RPServer(RelyingParty(clock=clock, verifier=args.verifier), host=args.host, port=args.port,
                  on_ready=lambda s: output.server_ready(s.info())) as server:
        pw, browser = _launch(args.headed, args.slow_mo)
        try:
            page = browser.new_page()
            steps = walk(page, server.url, clock, pin=args.pin or "123456")
        finally:
            browser.close()
            pw.stop()
    for s in steps_json(steps):
        output.print_json({"event": "step", **s})
    return 0 if all(s.ok for s in steps) else 1


def _headed(server: Any, args: argparse.Namespace) -> int:
    from ..browser.webauthn import VirtualWebAuthn
    from ..open.interaction import CliInteraction

    server.start()
    pw, browser = _launch(True, args.slow_mo)
    try:
        context = browser.new_context()
        bridge = VirtualWebAuthn(args.authenticator, pin=args.pin,
                                 interaction=None if args.pin else CliInteraction()).attach(context)
        page = context.new_page()
        page.goto(server.url + "/")
        output.print_json({"event": "browser", "url": server.url, "authenticator": repr(bridge.device)})
        try:
            page.wait_for_event("close", timeout=0)
        except KeyboardInterrupt:
            pass
        bridge.close()
    finally:
        try:
            browser.close()
        finally:
            pw.stop()
            server.stop()
    output.server_stopped()
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("demo-rp", help="run the demo relying party (TOTP and WebAuthn) for browser tests",
                       description="A relying party to enroll MFA against: TOTP with a QR code and two "
                                   "codes, security keys and passkeys verified with python-fido2 (or "
                                   "py_webauthn). Prints one JSON line when ready; stops on Ctrl-C.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8765, help="port (default 8765; 0 = a free one)")
    p.add_argument("--verifier", choices=("fido2", "py_webauthn"), default="fido2",
                   help="who verifies WebAuthn responses (default: python-fido2's Fido2Server)")
    p.add_argument("--headed", action="store_true",
                   help="open a visible Chromium on the RP, WebAuthn answered by a tokensim authenticator")
    p.add_argument("--walk", action="store_true",
                   help="click through the scripted tour (TOTP + security key + cloned key), then exit")
    p.add_argument("--authenticator", metavar="URL",
                   help="FIDO2 authenticator for the browser: fido2-sim:NAME, fido2-udp://HOST:PORT, "
                        "fido2-hid: (default: a fresh in-memory soft authenticator)")
    p.add_argument("--pin", help="PIN the browser answers with (default: ask on the terminal)")
    p.add_argument("--slow-mo", type=int, default=0, metavar="MS", help="slow each browser action down by MS")
    p.add_argument("--json", action="store_true",
                   help="accepted like everywhere: a server's output is always JSON lines (ready, stopped)")
    p.set_defaults(func=_serve)


def _demo(ctx: Any) -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        ctx.say("skipped: the browser extra is not installed (pip install 'tokensim[browser]')")
        return
    from ..browser.errors import BrowserUnavailableError
    from ..browser.rp_app import RPServer
    from ..browser.rp_model import RelyingParty
    from ..browser.walkthrough import walk

    # outside the demo's state directory, which is deleted when the demo ends
    shot = Path(tempfile.mkdtemp(prefix="tokensim-browser-demo-")) / "last-page.png"
    with RPServer(RelyingParty(clock=ctx.clock)) as server:
        ctx.say(f"demo relying party at {server.url}; headless Chromium with a tokensim soft authenticator")
        try:
            pw, browser = _launch(False, 0)
        except BrowserUnavailableError as e:
            ctx.say(f"skipped: {e}")
            return
        try:
            steps = walk(browser.new_page(), server.url, ctx.clock, screenshot=shot)
        finally:
            browser.close()
            pw.stop()
    for s in steps:
        ctx.say(f"{'[green]ok[/]' if s.ok else '[red]FAILED[/]'}  {s.what}: {s.detail}")
    ctx.say(f"screenshot of the last page: {shot}")


DEMO_SECTIONS = [(55, "Browser: TOTP and security-key enrollment in headless Chromium", _demo)]
