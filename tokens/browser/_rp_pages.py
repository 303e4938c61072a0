"""HTML of the demo relying party (plain pages, a little inline JavaScript, no framework).

Stable hooks for tests: every page has ``#result`` (``data-ok="true|false"`` once something
happened); the TOTP form fields are ``#code1`` / ``#code2`` (``#code`` for login), the submit
button ``#submit``; the WebAuthn buttons are ``#register`` and ``#login``; the manual-entry key is
``#secret`` inside ``#manual``; the QR code is ``#qr`` (an img, canvas or svg).
"""

from __future__ import annotations

import base64
import html
import io
import json

import segno

_STYLE = """<style>body{font-family:sans-serif;max-width:44em;margin:2em auto;line-height:1.5}
#result[data-ok=true]{color:#060}#result[data-ok=false]{color:#a00}input{font-size:1.2em;width:8em}
code{font-size:1.1em;background:#eee;padding:.1em .3em}</style>"""


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>{_STYLE}"
            f"</head><body><h1>{html.escape(title)}</h1>{body}<p><a href=/>home</a></p></body></html>")


def index(user: str) -> str:
    u = html.escape(user)
    return page("tokensim demo RP", f"""
<ul>
<li><a id=totp-enroll href="/totp/enroll?user={u}">Set up an authenticator app (TOTP)</a></li>
<li><a id=totp-login href="/totp/login?user={u}">Sign in with a TOTP code</a></li>
<li><a id=key-register href="/webauthn/register?user={u}">Register a security key</a></li>
<li><a id=key-login href="/webauthn/login?user={u}">Sign in with a security key</a></li>
<li><a id=passkey-register href="/webauthn/register?user={u}&rk=required&uv=required">Create a passkey</a>
</li>
<li><a id=passkey-login href="/webauthn/login">Sign in with a passkey (no user name)</a></li>
<li><a href="/api/state">state (JSON)</a></li>
</ul>""")


def result(title: str, ok: bool, message: str) -> str:
    return page(title, f'<p id=result data-ok="{str(ok).lower()}">{html.escape(message)}</p>')


def _qr(uri: str, kind: str) -> str:
    qr = segno.make(uri, error="m", micro=False)
    if kind == "svg":
        svg = qr.svg_inline(scale=5, border=4)
        return svg.replace("<svg ", '<svg id=qr role=img aria-label="QR code" ', 1)
    if kind == "canvas":
        rows = ["".join("1" if m else "0" for m in row) for row in qr.matrix_iter(border=4)]
        return f"""<canvas id=qr width={len(rows) * 5} height={len(rows) * 5}></canvas><script>
(() => {{ const rows = {json.dumps(rows)}; const c = document.getElementById("qr").getContext("2d");
c.fillStyle = "#fff"; c.fillRect(0, 0, rows.length * 5, rows.length * 5); c.fillStyle = "#000";
rows.forEach((r, y) => [...r].forEach((b, x) => {{ if (b === "1") c.fillRect(x * 5, y * 5, 5, 5); }})); }})();
</script>"""
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=5, border=4)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img id=qr alt="QR code" src="data:image/png;base64,{data}">'


def totp_enroll(user: str, uri: str, secret_b32: str, qr_kind: str, codes: int) -> str:
    grouped = " ".join(secret_b32[i:i + 4] for i in range(0, len(secret_b32), 4))
    first = "Code 1" if codes == 2 else "Code"
    fields = (f'<label>{first} <input id=code1 name=code1 inputmode=numeric '
              'autocomplete=one-time-code></label>')
    if codes == 2:
        fields += ' <label>Code 2 <input id=code2 name=code2 inputmode=numeric></label>'
    what = "two consecutive codes" if codes == 2 else "the code"
    return page("Set up an authenticator app", f"""
<p>Scan this QR code with your authenticator app, then type {what} it shows.</p>
<div id=qr-box>{_qr(uri, qr_kind)}</div>
<p id=manual>Can't scan? Enter this key: <code id=secret>{html.escape(grouped)}</code></p>
<form method=post action="/totp/enroll"><input type=hidden name=user value="{html.escape(user)}">
{fields} <button id=submit>Verify</button></form><p id=result></p>""")


def totp_login(user: str) -> str:
    return page("Sign in with a TOTP code", f"""
<form method=post action="/totp/login"><input type=hidden name=user value="{html.escape(user)}">
<label>Code <input id=code name=code inputmode=numeric autocomplete=one-time-code></label>
<button id=submit>Sign in</button></form><p id=result></p>""")


_WEBAUTHN_JS = r"""
const dec = (s) =>
  Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
const enc = (b) =>
  btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const ext = (v) => v instanceof ArrayBuffer ? enc(v) : (v && typeof v === "object" && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ext(x)])) : v);
const post = async (url, body) => (await fetch(url, {method: "POST",
  headers: {"content-type": "application/json"}, body: JSON.stringify(body)})).json();
const show = (ok, text) => {
  const r = document.getElementById("result");
  r.dataset.ok = String(ok);
  r.textContent = text;
};
async function ceremony(kind) {
  try {
    const begin = await post(`/api/webauthn/${kind}/begin`, PARAMS);
    if (begin.error) return show(false, `error: ${begin.error}`);
    const pk = begin.options.publicKey;
    pk.challenge = dec(pk.challenge);
    let cred, response;
    if (kind === "register") {
      pk.user.id = dec(pk.user.id);
      (pk.excludeCredentials || []).forEach((c) => { c.id = dec(c.id); });
      cred = await navigator.credentials.create({publicKey: pk});
      const r = cred.response;
      response = {clientDataJSON: enc(r.clientDataJSON), attestationObject: enc(r.attestationObject),
                  transports: r.getTransports()};
    } else {
      (pk.allowCredentials || []).forEach((c) => { c.id = dec(c.id); });
      cred = await navigator.credentials.get({publicKey: pk});
      const r = cred.response;
      response = {clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData),
                  signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null};
    }
    const body = {id: cred.id, rawId: enc(cred.rawId), type: cred.type,
                  authenticatorAttachment: cred.authenticatorAttachment,
                  response, clientExtensionResults: ext(cred.getClientExtensionResults())};
    const fin = await post(`/api/webauthn/${kind}/finish`, {ceremony: begin.ceremony, credential: body});
    if (fin.error) return show(false, fin.error);
    show(true, kind === "register" ? `registered a security key for ${fin.user} (${fin.fmt} attestation)`
                                   : `logged in as ${fin.user} (counter ${fin.counter})`);
  } catch (e) {
    show(false, `error: ${e.name}: ${e.message}`);
  }
}
"""


def _js(value: object) -> str:
    return json.dumps(value).replace("</", "<\\/")


def webauthn(kind: str, params: dict[str, str]) -> str:
    title = "Register a security key" if kind == "register" else "Sign in with a security key"
    label = "Register" if kind == "register" else "Sign in"
    return page(title, f"""<p>{html.escape(json.dumps(params))}</p>
<button id={"register" if kind == "register" else "login"}>{label}</button><p id=result></p>
<script>const PARAMS = {_js(params)};{_WEBAUTHN_JS}
document.querySelector("button").addEventListener("click", () => ceremony({_js(kind)}));</script>""")
