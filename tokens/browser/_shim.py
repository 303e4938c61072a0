"""The init script injected into every frame: a WebAuthn API that forwards to Python.

It replaces ``navigator.credentials.create/get`` (for ``publicKey`` requests only; password and
federated credentials still go to the browser) and the ``PublicKeyCredential`` family of
interfaces with look-alikes whose objects carry the same attributes and methods (``rawId``,
``response.getTransports()`` ... ``toJSON()``), so page code and WebAuthn libraries cannot tell.
Like a browser, it only installs itself in secure contexts (https://, http://localhost).

Each ceremony is one call of the exposed binding: ``{op: "create"|"get", publicKey: <JSON form>}``.
Python answers at once (``{status: "ok"|"error"|"pending"}``); a pending ceremony is polled
(``{op: "poll", id}``) so an ``AbortSignal`` can cancel it (``{op: "cancel", id}``) while the
authenticator waits for a touch.  Binary values cross as base64url strings, as in WebAuthn's JSON
serialisation (``PublicKeyCredential.toJSON()``).
"""

from __future__ import annotations

import json
from typing import Any

BINDING = "__tokensimWebAuthn"

_SCRIPT = r"""
(() => {
  const CONFIG = __CONFIG__;
  const BINDING = CONFIG.binding;
  if (window.__tokensimWebAuthnInstalled || !window.isSecureContext) return;
  Object.defineProperty(window, "__tokensimWebAuthnInstalled", {value: true});

  // ---- base64url <-> ArrayBuffer
  const enc = (buf) => {
    const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf)
      : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const dec = (str) => {
    const s = atob(String(str).replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  };
  const isBuf = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
  // options -> JSON form: every BufferSource becomes base64url; functions and signals are dropped
  const jsonify = (v) => {
    if (isBuf(v)) return enc(v);
    if (Array.isArray(v)) return v.map(jsonify);
    if (v && typeof v === "object") {
      const o = {};
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined || typeof x === "function" || x instanceof AbortSignal) continue;
        o[k] = jsonify(x);
      }
      return o;
    }
    return v;
  };
  const clone = (v) => JSON.parse(JSON.stringify(v));

  // ---- the look-alike interfaces
  const slots = new WeakMap();
  const slot = (o) => {
    const s = slots.get(o);
    if (!s) throw new TypeError("Illegal invocation");
    return s;
  };
  class AuthenticatorResponse {
    constructor() { throw new TypeError("Illegal constructor"); }
    get clientDataJSON() { return dec(slot(this).clientDataJSON); }
  }
  class AuthenticatorAttestationResponse extends AuthenticatorResponse {
    get attestationObject() { return dec(slot(this).attestationObject); }
    getTransports() { return [...(slot(this).transports || [])]; }
    getAuthenticatorData() { return dec(slot(this).authenticatorData); }
    getPublicKey() { const k = slot(this).publicKey; return k ? dec(k) : null; }
    getPublicKeyAlgorithm() { return slot(this).publicKeyAlgorithm; }
  }
  class AuthenticatorAssertionResponse extends AuthenticatorResponse {
    get authenticatorData() { return dec(slot(this).authenticatorData); }
    get signature() { return dec(slot(this).signature); }
    get userHandle() { const u = slot(this).userHandle; return u ? dec(u) : null; }
    get attestationObject() { return null; }
  }
  const BINARY_EXT = [["prf", "results", "first"], ["prf", "results", "second"], ["largeBlob", "blob"],
                      ["hmacGetSecret", "output1"], ["hmacGetSecret", "output2"]];
  const extResults = (json) => {
    const out = clone(json || {});
    for (const path of BINARY_EXT) {
      let o = out;
      for (const k of path.slice(0, -1)) o = o && typeof o === "object" ? o[k] : undefined;
      const last = path[path.length - 1];
      if (o && typeof o[last] === "string") o[last] = dec(o[last]);
    }
    return out;
  };
  class PublicKeyCredential {
    constructor() { throw new TypeError("Illegal constructor"); }
    get id() { return slot(this).id; }
    get type() { return "public-key"; }
    get rawId() { return dec(slot(this).rawId); }
    get response() { return slot(this).responseObject; }
    get authenticatorAttachment() { return slot(this).authenticatorAttachment ?? null; }
    getClientExtensionResults() { return extResults(slot(this).clientExtensionResults); }
    toJSON() { const s = slot(this); return clone(s.json); }
    static isUserVerifyingPlatformAuthenticatorAvailable() { return Promise.resolve(CONFIG.platform); }
    static isConditionalMediationAvailable() { return Promise.resolve(false); }
    static getClientCapabilities() { return Promise.resolve(clone(CONFIG.capabilities)); }
    static parseCreationOptionsFromJSON(j) {
      const o = clone(j);
      o.challenge = dec(o.challenge);
      o.user = {...o.user, id: dec(o.user.id)};
      if (o.excludeCredentials) {
        o.excludeCredentials = o.excludeCredentials.map((c) => ({...c, id: dec(c.id)}));
      }
      return o;
    }
    static parseRequestOptionsFromJSON(j) {
      const o = clone(j);
      o.challenge = dec(o.challenge);
      if (o.allowCredentials) o.allowCredentials = o.allowCredentials.map((c) => ({...c, id: dec(c.id)}));
      return o;
    }
    static signalUnknownCredential() { return Promise.resolve(); }
    static signalAllAcceptedCredentials() { return Promise.resolve(); }
    static signalCurrentUserDetails() { return Promise.resolve(); }
  }
  if (window.Credential) Object.setPrototypeOf(PublicKeyCredential.prototype, window.Credential.prototype);
  const make = (cls, data) => { const o = Object.create(cls.prototype); slots.set(o, data); return o; };
  const credential = (json) => {
    const r = json.response;
    const responseObject = make(r.attestationObject ? AuthenticatorAttestationResponse
                                                     : AuthenticatorAssertionResponse, r);
    return make(PublicKeyCredential, {...json, json, responseObject});
  };
  for (const [name, cls] of Object.entries({PublicKeyCredential, AuthenticatorResponse,
      AuthenticatorAttestationResponse, AuthenticatorAssertionResponse})) {
    Object.defineProperty(window, name, {value: cls, writable: true, configurable: true});
  }

  // ---- talking to Python
  const binding = (msg) => window[BINDING](msg);
  const abortReason = (signal) =>
    signal.reason ?? new DOMException("signal is aborted without reason", "AbortError");
  const failure = (r) =>
    r.name === "TypeError" ? new TypeError(r.message) : new DOMException(r.message, r.name);
  const ceremony = (op, publicKey, signal) => new Promise((resolve, reject) => {
    let done = false, id = null;
    const settle = (fn, v) => {
      if (done) return;
      done = true;
      if (signal) signal.removeEventListener("abort", onAbort);
      fn(v);
    };
    const cancel = (which) => { binding({op: "cancel", id: which}).catch(() => {}); };
    const onAbort = () => { settle(reject, abortReason(signal)); if (id !== null) cancel(id); };
    if (signal) signal.addEventListener("abort", onAbort);
    const handle = (r) => {
      if (r.status === "pending") {
        id = r.id;
        if (done) { cancel(id); return; }
        setTimeout(() => binding({op: "poll", id}).then(handle, lost), CONFIG.pollMs);
      } else if (r.status === "ok") {
        settle(resolve, credential(r.credential));
      } else {
        settle(reject, failure(r));
      }
    };
    const lost = (e) => settle(reject, new DOMException(String(e && e.message || e), "UnknownError"));
    binding({op, publicKey}).then(handle, lost);
  });

  const container = navigator.credentials;
  const original = container
    ? {create: container.create.bind(container), get: container.get.bind(container)} : null;
  const unsupported = () => Promise.reject(new DOMException("Not supported", "NotSupportedError"));
  const api = {
    create(options) {
      if (!options || !options.publicKey) {
        return original ? original.create(options) : unsupported();
      }
      const signal = options.signal;
      if (signal && signal.aborted) return Promise.reject(abortReason(signal));
      let pk;
      try { pk = jsonify(options.publicKey); } catch (e) { return Promise.reject(new TypeError(String(e))); }
      return ceremony("create", pk, signal);
    },
    get(options) {
      if (!options || !options.publicKey) {
        return original ? original.get(options) : unsupported();
      }
      const signal = options.signal;
      if (signal && signal.aborted) return Promise.reject(abortReason(signal));
      if (options.mediation === "conditional") {
        // autofill UI: nobody picks a passkey from it here, so the promise waits until aborted
        return new Promise((_, reject) => {
          if (signal) signal.addEventListener("abort", () => reject(abortReason(signal)));
        });
      }
      let pk;
      try { pk = jsonify(options.publicKey); } catch (e) { return Promise.reject(new TypeError(String(e))); }
      return ceremony("get", pk, signal);
    },
  };
  if (container) {
    for (const k of ["create", "get"]) {
      Object.defineProperty(container, k, {value: api[k], writable: true, configurable: true});
    }
  } else {
    Object.defineProperty(navigator, "credentials", {
      value: {...api, store: unsupported, preventSilentAccess: () => Promise.resolve()}, configurable: true});
  }
})();
"""


def init_script(*, platform: bool, capabilities: dict[str, bool], poll_ms: int = 15) -> str:
    """The init script with its configuration filled in."""
    config: dict[str, Any] = {"binding": BINDING, "platform": platform, "capabilities": capabilities,
                              "pollMs": poll_ms}
    return _SCRIPT.replace("__CONFIG__", json.dumps(config))
