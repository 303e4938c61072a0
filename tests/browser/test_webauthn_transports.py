"""The same pages answered by authenticators behind other transports (by URL), and the
largeBlob/credProtect extensions end to end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import login, register
from tokens.browser import AttachError
from tokens.fido2 import Authenticator, Outcome, SoftCtapDevice, WaitThenTimeout
from tokens.fido2.udp import UdpCtapHidServer
from tokens.open import ScriptedInteraction


@pytest.fixture
def udp_authenticator() -> Iterator[tuple[UdpCtapHidServer, Authenticator]]:
    """The soft authenticator served as CTAPHID over UDP; a touch comes after two keepalives."""
    auth = Authenticator(presence=WaitThenTimeout(timeout=0.1, interval=0.05, then=Outcome.APPROVE))
    with UdpCtapHidServer(SoftCtapDevice(auth), port=0, reply_port=None) as srv:
        yield srv, auth


def test_authenticator_by_udp_url(page: Any, context: Any, webauthn_factory: Any, demo_rp: Any,
                                  udp_authenticator: tuple[UdpCtapHidServer, Authenticator]) -> None:
    srv, auth = udp_authenticator
    who = ScriptedInteraction()
    bridge = webauthn_factory(context, f"fido2-udp://127.0.0.1:{srv.port}", interaction=who)
    ok, text = register(page, demo_rp.url)
    assert ok, text
    ok, text = login(page, demo_rp.url)
    assert ok, text
    assert "touch" in who.events  # the CTAPHID keepalive UPNEEDED reached the interaction hook
    assert sum(auth.state.counters.values()) >= 1  # the served authenticator really signed
    with pytest.raises(AttachError):
        bridge.inject()  # faults need the in-process soft authenticator


def test_large_blob_and_cred_protect(rp_page: Any, webauthn: Any) -> None:
    out = rp_page.evaluate("""async () => {
      const user = {id: new Uint8Array([7]), name: "u", displayName: "u"};
      const c = await navigator.credentials.create({publicKey: {challenge: new Uint8Array(32),
        rp: {name: "t"}, user, pubKeyCredParams: [{type: "public-key", alg: -7}],
        authenticatorSelection: {residentKey: "required", userVerification: "discouraged"},
        extensions: {largeBlob: {support: "required"}, credentialProtectionPolicy: "userVerificationOptional",
                     credProps: true}}});
      const allow = [{type: "public-key", id: c.rawId}];
      const get = (extensions) => navigator.credentials.get({publicKey: {challenge: new Uint8Array(32),
        allowCredentials: allow, userVerification: "discouraged", extensions}});
      const w = await get({largeBlob: {write: new TextEncoder().encode("hello blob")}});
      const r = await get({largeBlob: {read: true}});
      const blob = r.getClientExtensionResults().largeBlob.blob;
      return {made: c.getClientExtensionResults(), written: w.getClientExtensionResults().largeBlob,
              read: new TextDecoder().decode(blob), isBuffer: blob instanceof ArrayBuffer};
    }""")
    assert out["made"]["largeBlob"] == {"supported": True} and out["made"]["credProps"] == {"rk": True}
    assert out["written"] == {"written": True}
    assert out["read"] == "hello blob" and out["isBuffer"]
    assert len(webauthn.authenticator.state.resident) == 1
