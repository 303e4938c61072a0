"""The demo relying party's logic, without HTTP: TOTP enrollment/login and WebAuthn ceremonies.

TOTP uses tokensim's verifier (two-code enable, windowed verify, replay refusal).  WebAuthn options
come from python-fido2's ``Fido2Server``; responses are verified by ``Fido2Server`` or, with
``verifier="py_webauthn"``, by py_webauthn — and the sign counter is checked here, as every RP must
(``Fido2Server`` does not): a counter that does not grow means a cloned authenticator.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fido2 import cbor
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
)

from ..clock import Clock, SystemClock
from ..params import OtpType
from ..uri import OtpauthURI
from ..verifier import MemoryStore, Status, Verifier

RP_NAME = "tokensim demo RP"
ISSUER = "tokensim demo"


class WebAuthnVerifier(str, Enum):
    FIDO2 = "fido2"  # python-fido2's Fido2Server
    PY_WEBAUTHN = "py_webauthn"  # py_webauthn (PyPI "webauthn")


class RPError(Exception):
    """A ceremony the RP refuses; ``str(e)`` is shown to the user."""


@dataclass
class StoredCredential:
    user: str
    data: AttestedCredentialData
    sign_count: int
    transports: list[str]
    discoverable: bool | None
    fmt: str

    @property
    def id(self) -> bytes:
        return bytes(self.data.credential_id)


@dataclass
class User:
    name: str
    handle: bytes = field(default_factory=lambda: os.urandom(16))
    totp_serial: str | None = None
    totp_active: bool = False


@dataclass
class Event:
    what: str
    ok: bool
    detail: str


class RelyingParty:
    """All state of the demo RP, in memory; thread-safe."""

    def __init__(self, rp_id: str = "localhost", *, clock: Clock | None = None,
                 verifier: WebAuthnVerifier | str = WebAuthnVerifier.FIDO2) -> None:
        self.rp_id = rp_id
        self.clock: Clock = clock or SystemClock()
        self.webauthn_verifier = WebAuthnVerifier(verifier)
        self.totp = Verifier(MemoryStore(), clock=self.clock)
        self.users: dict[str, User] = {}
        self.credentials: list[StoredCredential] = []
        self.events: list[Event] = []
        self._pending: dict[str, tuple[str, str, Any]] = {}  # ceremony id -> (kind, user, state)
        self._lock = threading.RLock()

    def user(self, name: str) -> User:
        with self._lock:
            return self.users.setdefault(name, User(name))

    def _log(self, what: str, ok: bool, detail: str) -> None:
        self.events.append(Event(what, ok, detail))

    # -- TOTP ------------------------------------------------------------------------------------------
    def totp_begin(self, name: str) -> OtpauthURI:
        """A fresh secret for ``name`` (pending until two codes enable it); returns its otpauth URI."""
        user = self.user(name)
        serial = f"totp-{name}-{secrets.token_hex(4)}"
        secret = os.urandom(20)
        with self._lock:
            self.totp.register(serial, secret, issuer=ISSUER, account=name)
            user.totp_serial, user.totp_active = serial, False
        return OtpauthURI(type=OtpType.TOTP, secret=secret, account=name, issuer=ISSUER)

    def totp_enable(self, name: str, code1: str, code2: str | None) -> str:
        user = self.user(name)
        if user.totp_serial is None:
            raise RPError("no TOTP enrollment in progress")
        if code2 is None:  # one-code enrollment: activate, and take it back if the code is wrong
            now = self.clock.now()
            self.totp.store.set_status(user.totp_serial, Status.ACTIVE, now)
            res = self.totp.verify(user.totp_serial, code1)
            if not res.ok:
                self.totp.store.set_status(user.totp_serial, Status.PENDING, now)
            ok, reason = res.ok, res.reason.value
        else:
            sync = self.totp.enable(user.totp_serial, code1, code2)
            ok, reason = sync.ok, sync.reason.value
        self._log("totp-enroll", ok, reason)
        if not ok:
            raise RPError(f"codes not accepted ({reason})")
        user.totp_active = True
        return f"TOTP enabled for {name}"

    def totp_login(self, name: str, code: str) -> str:
        user = self.users.get(name)
        if user is None or not user.totp_active or user.totp_serial is None:
            raise RPError(f"{name} has no TOTP device")
        res = self.totp.verify(user.totp_serial, code)
        self._log("totp-login", res.ok, res.reason.value)
        if not res.ok:
            raise RPError(f"code rejected ({res.reason.value})")
        return f"logged in as {name} with TOTP"

    # -- WebAuthn --------------------------------------------------------------------------------------
    def _server(self, attestation: str | None = None) -> Fido2Server:
        return Fido2Server(PublicKeyCredentialRpEntity(name=RP_NAME, id=self.rp_id),
                           attestation=attestation or None)  # type: ignore[arg-type]

    def _stash(self, kind: str, user: str, state: Any) -> str:
        cid = secrets.token_urlsafe(12)
        with self._lock:
            self._pending[cid] = (kind, user, state)
        return cid

    def _take(self, kind: str, ceremony: str) -> tuple[str, Any]:
        with self._lock:
            got = self._pending.pop(ceremony, None)
        if got is None or got[0] != kind:
            raise RPError("unknown or expired ceremony")
        return got[1], got[2]

    def register_begin(self, name: str, *, resident_key: str = "discouraged",
                       user_verification: str = "preferred", attestation: str = "none",
                       exclude: bool = True) -> dict[str, Any]:
        user = self.user(name)
        existing = [c.data for c in self.credentials if c.user == name] if exclude else []
        options, state = self._server(attestation).register_begin(
            PublicKeyCredentialUserEntity(name=name, id=user.handle, display_name=name), existing,
            resident_key_requirement=resident_key, user_verification=user_verification,  # type: ignore[arg-type]
            extensions={"credProps": True})
        return {"ceremony": self._stash("register", name, state), "options": dict(options)}

    def register_finish(self, ceremony: str, credential: dict[str, Any]) -> dict[str, Any]:
        name, state = self._take("register", ceremony)
        try:
            if self.webauthn_verifier is WebAuthnVerifier.PY_WEBAUTHN:
                data, count = self._py_webauthn_register(state, credential)
            else:
                auth_data = self._server().register_complete(state, credential)
                assert auth_data.credential_data is not None
                data, count = auth_data.credential_data, auth_data.counter
        except RPError:
            raise
        except Exception as e:  # the verifier refused the response
            self._log("webauthn-register", False, str(e))
            raise RPError(f"registration rejected: {e}") from None
        resp = RegistrationResponse.from_dict(credential)
        props = resp.client_extension_results.get("credProps") or {}
        transports = list(credential.get("response", {}).get("transports") or [])
        stored = StoredCredential(name, data, count, transports, props.get("rk"),
                                  resp.response.attestation_object.fmt)
        with self._lock:
            self.credentials.append(stored)
        self._log("webauthn-register", True, websafe_encode(stored.id))
        return {"ok": True, "user": name, "credentialId": websafe_encode(stored.id), "fmt": stored.fmt,
                "counter": count, "discoverable": stored.discoverable,
                "verifier": self.webauthn_verifier.value}

    def login_begin(self, name: str | None, *, user_verification: str = "preferred") -> dict[str, Any]:
        """With a name: allowCredentials lists that user's keys; without: a passkey (discoverable) login."""
        creds = [c.data for c in self.credentials if c.user == name] if name else None
        if name and not creds:
            raise RPError(f"{name} has no security key")
        options, state = self._server().authenticate_begin(creds, user_verification=user_verification)  # type: ignore[arg-type]
        return {"ceremony": self._stash("login", name or "", state), "options": dict(options)}

    def login_finish(self, ceremony: str, credential: dict[str, Any]) -> dict[str, Any]:
        name, state = self._take("login", ceremony)
        try:
            resp = AuthenticationResponse.from_dict(credential)
        except (TypeError, ValueError, KeyError) as e:
            raise RPError(f"malformed response: {e}") from None
        stored = next((c for c in self.credentials
                       if c.id == resp.raw_id and (not name or c.user == name)), None)
        if stored is None:
            self._log("webauthn-login", False, "unknown credential")
            raise RPError("unknown credential")
        if not name and resp.response.user_handle not in (None, self.user(stored.user).handle):
            raise RPError("user handle does not match the credential")
        try:
            if self.webauthn_verifier is WebAuthnVerifier.PY_WEBAUTHN:
                count = self._py_webauthn_login(state, credential, stored)
            else:
                self._server().authenticate_complete(state, [stored.data], resp)
                count = resp.response.authenticator_data.counter
        except Exception as e:
            self._log("webauthn-login", False, str(e))
            raise RPError(f"login rejected: {e}") from None
        # WebAuthn §7.2 step 21: a counter that does not grow signals a cloned authenticator
        if (count or stored.sign_count) and count <= stored.sign_count:
            self._log("webauthn-login", False, f"counter {count} <= {stored.sign_count}")
            raise RPError(f"login rejected: sign counter went from {stored.sign_count} to {count} "
                          "(cloned authenticator?)")
        stored.sign_count = count
        self._log("webauthn-login", True, f"{stored.user} counter {count}")
        return {"ok": True, "user": stored.user, "counter": count, "verifier": self.webauthn_verifier.value}

    # -- py_webauthn -----------------------------------------------------------------------------------
    def _expected(self, state: Any, credential: dict[str, Any]) -> tuple[bytes, str, str]:
        """Challenge, rpId and origin py_webauthn must see (the origin: the one the client data claims,
        accepted only when its host is this RP's id or below it)."""
        import json
        from urllib.parse import urlsplit

        try:
            cd = json.loads(websafe_decode(credential["response"]["clientDataJSON"]))
            origin = str(cd["origin"])
        except (KeyError, TypeError, ValueError) as e:
            raise RPError(f"malformed clientDataJSON: {e}") from None
        host = urlsplit(origin).hostname or ""
        if host != self.rp_id and not host.endswith("." + self.rp_id):
            raise RPError(f"unexpected origin {origin!r}")
        return websafe_decode(state["challenge"]), self.rp_id, origin

    def _py_webauthn_register(self, state: Any,
                              credential: dict[str, Any]) -> tuple[AttestedCredentialData, int]:
        import webauthn

        challenge, rp_id, origin = self._expected(state, credential)
        v = webauthn.verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=state.get("user_verification") == "required")
        att = AttestationObject(v.attestation_object)
        assert att.auth_data.credential_data is not None
        return att.auth_data.credential_data, v.sign_count

    def _py_webauthn_login(self, state: Any, credential: dict[str, Any], stored: StoredCredential) -> int:
        import webauthn

        challenge, rp_id, origin = self._expected(state, credential)
        v = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=cbor.encode(stored.data.public_key),
            credential_current_sign_count=stored.sign_count,
            require_user_verification=state.get("user_verification") == "required")
        return int(v.new_sign_count)

