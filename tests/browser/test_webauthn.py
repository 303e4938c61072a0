"""WebAuthn in headless Chromium, answered by tokensim's CTAP 2.1 authenticator through python-fido2's
client, verified by the demo RP (python-fido2's Fido2Server, or py_webauthn) and by the browser's own
WebCrypto where the page can check something itself."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.browser.conftest import PIN, login, register, wait_result
from tokens.browser import DomErrorName, VirtualWebAuthn
from tokens.fido2 import BadSignature, CounterRegression, Deny, FlagOverride, WaitThenTimeout

# navigator.credentials.create/get from page code, reporting the outcome as data
CREATE_JS = """async (pk) => {
  const b = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const opts = {challenge: b("0123456789abcdef0123456789abcdef"), rp: {name: "t"}, user: {id: b("u1"),
    name: "u", displayName: "u"}, pubKeyCredParams: [{type: "public-key", alg: -7}], ...pk};
  if (opts.excludeIds) { opts.excludeCredentials = opts.excludeIds.map((i) => ({type: "public-key",
    id: Uint8Array.from(atob(i.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))})); }
  delete opts.excludeIds;
  try { const c = await navigator.credentials.create({publicKey: opts}); return {ok: true, id: c.id}; }
  catch (e) { return {ok: false, name: e.name, message: e.message}; }
}"""
GET_JS = """async (pk) => {
  const opts = {challenge: new Uint8Array(32), ...pk};
  if (opts.allowIds) { opts.allowCredentials = opts.allowIds.map((i) => ({type: "public-key",
    id: Uint8Array.from(atob(i.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))})); }
  delete opts.allowIds;
  try { const c = await navigator.credentials.get({publicKey: opts}); return {ok: true, id: c.id}; }
  catch (e) { return {ok: false, name: e.name, message: e.message}; }
}"""


def state(rp: Any) -> dict[str, Any]:
    creds = rp.rp.credentials
    return {"counters": [c.sign_count for c in creds], "count": len(creds)}


@pytest.mark.webauthn_pin(PIN)
def test_security_key_with_pin_registers_and_logs_in(page: Any, webauthn: VirtualWebAuthn,
                                                      demo_rp: Any) -> None:
    ok, text = register(page, demo_rp.url)
    assert ok, text
    assert "registered a security key for alice" in text
    ok, text = login(page, demo_rp.url)
    assert ok and "logged in as alice" in text, text
    # the PIN went through the interaction hook, and the client obtained a pinUvAuthToken with it
    assert "pin" in webauthn.interaction.events  # type: ignore[attr-defined]
    assert [c.kind for c in webauthn.ceremonies] == ["create", "get"]
    assert all(c.ok and c.origin == demo_rp.url and c.rp_id == "localhost" for c in webauthn.ceremonies)
    assert demo_rp.rp.credentials[0].sign_count >= 1


@pytest.mark.webauthn_pin(PIN)
def test_wrong_pin_is_not_allowed(page: Any, webauthn_factory: Any, context: Any, demo_rp: Any) -> None:
    from fido2.ctap2.base import Ctap2
    from fido2.ctap2.pin import ClientPin

    from tokens.fido2 import Authenticator, SoftCtapDevice

    auth = Authenticator()
    ClientPin(Ctap2(SoftCtapDevice(auth))).set_pin(PIN)
    bridge = webauthn_factory(context, auth, pin="000000")
    ok, text = register(page, demo_rp.url)
    assert not ok and "NotAllowedError" in text, text
    assert bridge.ceremonies[-1].error is DomErrorName.NOT_ALLOWED
    assert auth.state.pin_retries == 7  # the authenticator really saw one wrong PIN
    assert demo_rp.rp.credentials == []


def test_cloned_key_is_rejected_by_the_counter_check(page: Any, webauthn: VirtualWebAuthn,
                                                     demo_rp: Any) -> None:
    ok, text = register(page, demo_rp.url)
    assert ok, text
    assert login(page, demo_rp.url)[0]
    clone = webauthn.clone()  # same keys and counters as the original, now
    original = webauthn.authenticator
    assert login(page, demo_rp.url)[0]  # the original signs again: the clone lags behind
    webauthn.use(clone)
    ok, text = login(page, demo_rp.url)
    assert not ok and "cloned authenticator" in text, text
    webauthn.use(original)
    assert login(page, demo_rp.url)[0]


def test_fault_injection_switches_mid_test(page: Any, webauthn: VirtualWebAuthn, demo_rp: Any) -> None:
    assert register(page, demo_rp.url)[0]
    assert login(page, demo_rp.url)[0]
    before = demo_rp.rp.credentials[0].sign_count
    with webauthn.faults(CounterRegression()):  # the counter goes back to 0: looks cloned
        ok, text = login(page, demo_rp.url)
        assert not ok and "sign counter went from" in text, text
    webauthn.inject(BadSignature())  # Fido2Server checks the signature
    ok, text = login(page, demo_rp.url)
    assert not ok and "login rejected" in text, text
    webauthn.clear_faults()
    webauthn.inject(FlagOverride(clear_flags=0x01))  # UP cleared: Fido2Server requires user presence
    ok, text = login(page, demo_rp.url)
    assert not ok, text
    webauthn.clear_faults()
    ok, text = login(page, demo_rp.url)
    assert ok, text
    assert demo_rp.rp.credentials[0].sign_count > before
    # the browser side never saw an error: every rejection was the RP's
    assert all(c.ok for c in webauthn.ceremonies)


def test_excluded_credential_is_invalid_state(page: Any, webauthn: VirtualWebAuthn, demo_rp: Any) -> None:
    assert register(page, demo_rp.url)[0]
    ok, text = register(page, demo_rp.url)  # the RP lists alice's key in excludeCredentials
    assert not ok and text.startswith("error: InvalidStateError"), text
    assert webauthn.ceremonies[-1].error is DomErrorName.INVALID_STATE
    assert len(demo_rp.rp.credentials) == 1


def test_errors_a_browser_raises(rp_page: Any, webauthn: VirtualWebAuthn) -> None:
    made = rp_page.evaluate(CREATE_JS, {})
    assert made["ok"], made
    # an rpId that is not a registrable suffix of localhost
    bad = rp_page.evaluate(CREATE_JS, {"rp": {"name": "t", "id": "example.com"}})
    assert bad["name"] == "SecurityError", bad
    # the page excludes the key it just made
    excl = rp_page.evaluate(CREATE_JS, {"excludeIds": [made["id"]]})
    assert excl["name"] == "InvalidStateError", excl
    # no algorithm the authenticator supports
    alg = rp_page.evaluate(CREATE_JS, {"pubKeyCredParams": [{"type": "public-key", "alg": -65535}]})
    assert alg["name"] == "NotSupportedError", alg
    # a credential this key does not hold
    unknown = rp_page.evaluate(GET_JS, {"allowIds": ["AAAAAAAAAAAAAAAAAAAAAA"]})
    assert unknown["name"] == "NotAllowedError", unknown
    # malformed options are a TypeError, as in a browser
    typo = rp_page.evaluate("""async () => { try { await navigator.credentials.create({publicKey:
        {rp: {name: "t"}}}); } catch (e) { return e.constructor.name; } }""")
    assert typo == "TypeError"
    # the user refuses the touch
    webauthn.presence = Deny()
    denied = rp_page.evaluate(GET_JS, {"allowIds": [made["id"]]})
    assert denied["name"] == "NotAllowedError", denied
    assert [c.error for c in webauthn.ceremonies[1:]] == [
        DomErrorName.SECURITY, DomErrorName.INVALID_STATE, DomErrorName.NOT_SUPPORTED,
        DomErrorName.NOT_ALLOWED, DomErrorName.TYPE, DomErrorName.NOT_ALLOWED]


def test_abort_signal_cancels_the_authenticator(rp_page: Any, webauthn: VirtualWebAuthn) -> None:
    made = rp_page.evaluate(CREATE_JS, {})
    webauthn.presence = WaitThenTimeout(timeout=20.0, interval=0.05)  # nobody touches the key
    name = rp_page.evaluate("""async (id) => {
      const ctl = new AbortController();
      const raw = Uint8Array.from(atob(id.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const p = navigator.credentials.get({signal: ctl.signal, publicKey: {challenge: new Uint8Array(32),
        allowCredentials: [{type: "public-key", id: raw}]}});
      setTimeout(() => ctl.abort(), 700);
      try { await p; return "resolved"; } catch (e) { return e.name; }
    }""", made["id"])
    assert name == "AbortError"
    # the cancel reached the authenticator (CTAP keepalive cancel), long before its 20 s timeout
    done = threading.Event()
    for _ in range(100):
        if len(webauthn.ceremonies) == 2:
            done.set()
            break
        done.wait(0.05)
    assert webauthn.ceremonies[-1].error is DomErrorName.ABORT
    # an already-aborted signal rejects at once, without calling the authenticator
    pre = rp_page.evaluate("""async () => { const c = new AbortController(); c.abort();
      try { await navigator.credentials.create({signal: c.signal, publicKey: {}}); }
      catch (e) { return e.name; } }""")
    assert pre == "AbortError" and len(webauthn.ceremonies) == 2


@pytest.mark.webauthn_pin(PIN)
def test_passkey_login_without_allow_credentials(page: Any, webauthn: VirtualWebAuthn, demo_rp: Any) -> None:
    ok, text = register(page, demo_rp.url, "user=alice&rk=required&uv=required")
    assert ok, text
    assert demo_rp.rp.credentials[0].discoverable is True  # credProps.rk from the client
    assert len(webauthn.authenticator.state.resident) == 1
    ok, text = login(page, demo_rp.url, "uv=required")  # no user name: a discoverable credential
    assert ok and "logged in as alice" in text, text


def test_response_objects_look_like_a_browsers(rp_page: Any, webauthn: VirtualWebAuthn) -> None:
    out = rp_page.evaluate("""async () => {
      const cred = await navigator.credentials.create({publicKey: {challenge: new Uint8Array(32),
        rp: {name: "t"}, user: {id: new Uint8Array([1]), name: "u", displayName: "u"},
        pubKeyCredParams: [{type: "public-key", alg: -7}], extensions: {credProps: true, prf: {}}}});
      const r = cred.response;
      // the browser's own WebCrypto must accept getPublicKey() as a P-256 SPKI key
      const key = await crypto.subtle.importKey("spki", r.getPublicKey(),
                                                {name: "ECDSA", namedCurve: "P-256"}, true, ["verify"]);
      const j = cred.toJSON();
      return {isPKC: cred instanceof PublicKeyCredential,
              isAtt: r instanceof AuthenticatorAttestationResponse, type: cred.type,
              idMatches: j.id === cred.id && j.rawId === cred.id, transports: r.getTransports(),
              alg: r.getPublicKeyAlgorithm(), keyType: key.algorithm.namedCurve,
              authDataLen: r.getAuthenticatorData().byteLength, attachment: cred.authenticatorAttachment,
              ext: cred.getClientExtensionResults(),
              clientData: JSON.parse(new TextDecoder().decode(r.clientDataJSON)),
              uvpaa: await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()};
    }""")
    assert out["isPKC"] and out["isAtt"] and out["idMatches"] and out["type"] == "public-key"
    assert out["transports"] == ["usb"] and out["attachment"] == "cross-platform"
    assert out["alg"] == -7 and out["keyType"] == "P-256"
    assert out["authDataLen"] > 37 + 16  # rpIdHash, flags, counter, attested credential data
    assert out["ext"]["credProps"] == {"rk": False} and out["ext"]["prf"]["enabled"] is True
    assert out["clientData"]["type"] == "webauthn.create"
    assert out["clientData"]["origin"] == rp_page.url.rstrip("/")
    assert out["uvpaa"] is False


def test_prf_outputs_are_stable_per_salt(rp_page: Any, webauthn: VirtualWebAuthn) -> None:
    made = rp_page.evaluate(CREATE_JS, {"extensions": {"prf": {}}})
    prf = """async ([id, salt]) => {
      const raw = Uint8Array.from(atob(id.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
      const c = await navigator.credentials.get({publicKey: {challenge: new Uint8Array(32),
        allowCredentials: [{type: "public-key", id: raw}],
        extensions: {prf: {eval: {first: new TextEncoder().encode(salt)}}}}});
      const out = c.getClientExtensionResults().prf.results.first;
      return [out instanceof ArrayBuffer, Array.from(new Uint8Array(out))];
    }"""
    a1, a2, b = (rp_page.evaluate(prf, [made["id"], s]) for s in ("salt-a", "salt-a", "salt-b"))
    assert a1[0] and len(a1[1]) == 32
    assert a1[1] == a2[1] and a1[1] != b[1]


@pytest.mark.webauthn_attestation("batch")
def test_batch_attestation_marker(page: Any, webauthn: VirtualWebAuthn, demo_rp: Any) -> None:
    ok, text = register(page, demo_rp.url, "user=alice&attestation=direct")
    assert ok and "(packed attestation)" in text, text
    att = demo_rp.rp.credentials[0]
    assert att.fmt == "packed"
    assert webauthn.authenticator.state.batch is not None


def test_py_webauthn_verifies_and_checks_the_counter(page: Any, webauthn: VirtualWebAuthn,
                                                     demo_rp_factory: Any) -> None:
    rp = demo_rp_factory(verifier="py_webauthn")
    ok, text = register(page, rp.url)
    assert ok, text
    ok, text = login(page, rp.url)
    assert ok and "logged in as alice" in text, text
    webauthn.inject(CounterRegression())
    ok, text = login(page, rp.url)
    # py_webauthn's own counter check refused it (before the RP's): its message, not ours
    assert not ok and "sign count" in text and "cloned authenticator?" not in text, text
    webauthn.clear_faults()
    assert login(page, rp.url)[0]


def test_stored_authenticator_by_name_persists(page: Any, context: Any, webauthn_factory: Any,
                                               demo_rp: Any) -> None:
    from tokens.fido2 import AuthenticatorState
    from tokens.fido2 import state as store

    store.create(AuthenticatorState.new(name="qa-key"))
    bridge = webauthn_factory(context, "qa-key")  # a bare name = fido2-sim:qa-key
    assert register(page, demo_rp.url)[0]
    bridge.close()  # saved back to its state file, lock released
    again = webauthn_factory(None, "fido2-sim:qa-key")
    again.attach(context)
    ok, text = login(page, demo_rp.url)
    assert ok, text
    assert demo_rp.rp.credentials[0].sign_count >= 1


def test_page_results_wait(page: Any, webauthn: VirtualWebAuthn, demo_rp: Any) -> None:
    """wait_result() really waits for the page's answer (guards the helpers the other tests rely on)."""
    page.goto(demo_rp.url + "/webauthn/login?user=nobody")
    page.click("#login")
    ok, text = wait_result(page)
    assert not ok and "nobody has no security key" in text


@pytest.mark.webauthn_uv("auto")
def test_builtin_uv_marker_makes_a_passkey_without_pin(page: Any, webauthn: VirtualWebAuthn,
                                                       demo_rp: Any) -> None:
    ok, text = register(page, demo_rp.url, "user=alice&rk=required&uv=required")
    assert ok, text
    ok, text = login(page, demo_rp.url, "uv=required")
    assert ok and "logged in as alice" in text, text
    assert webauthn.authenticator.state.pin_hash is None  # no PIN: the built-in sensor verified


@pytest.mark.webauthn_uv("deny")
def test_builtin_uv_that_never_matches_is_not_allowed(page: Any, webauthn: VirtualWebAuthn,
                                                      demo_rp: Any) -> None:
    ok, text = register(page, demo_rp.url, "user=alice&rk=required&uv=required")
    assert not ok and "NotAllowedError" in text, text
    assert demo_rp.rp.credentials == []


def test_options_timeout_is_not_allowed_not_abort(rp_page: Any, webauthn: VirtualWebAuthn) -> None:
    made = rp_page.evaluate(CREATE_JS, {})
    webauthn.presence = WaitThenTimeout(timeout=20.0, interval=0.05)  # nobody touches the key
    out = rp_page.evaluate(GET_JS, {"allowIds": [made["id"]], "timeout": 600})
    assert out["name"] == "NotAllowedError", out
    assert webauthn.ceremonies[-1].error is DomErrorName.NOT_ALLOWED


def test_platform_authenticator_mode(page: Any, context: Any, webauthn_factory: Any, demo_rp: Any) -> None:
    webauthn_factory(context, platform=True)
    page.goto(demo_rp.url + "/")
    out = page.evaluate("""async () => {
      const c = await navigator.credentials.create({publicKey: {challenge: new Uint8Array(32),
        rp: {name: "t"}, user: {id: new Uint8Array([1]), name: "u", displayName: "u"},
        pubKeyCredParams: [{type: "public-key", alg: -7}]}});
      const caps = await PublicKeyCredential.getClientCapabilities();
      return {uvpaa: await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable(),
              attachment: c.authenticatorAttachment, transports: c.response.getTransports(),
              passkeyPlatform: caps.passkeyPlatformAuthenticator};
    }""")
    assert out == {"uvpaa": True, "attachment": "platform", "transports": ["internal"],
                   "passkeyPlatform": True}
