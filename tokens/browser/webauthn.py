"""WebAuthn in a Playwright page, answered by a tokensim FIDO2 authenticator.

    bridge = VirtualWebAuthn(pin="1234")          # a fresh soft authenticator (or a URL, a name ...)
    bridge.attach(context)                        # every page of the context now talks to it
    page.goto("http://localhost:8000/register")   # navigator.credentials.create() -> the authenticator
    bridge.inject(CounterRegression())            # the next assertions look cloned
    bridge.clear_faults()

The page's calls reach Python through an exposed binding (see :mod:`._shim`); each ceremony runs
python-fido2's ``Fido2Client`` against the authenticator with a ``DefaultClientDataCollector`` for
the *calling frame's* origin, so clientDataJSON, rpId checks, PIN/UV, the exclude-list probe and the
extensions (credProps, largeBlob, prf, credProtect, minPinLength, hmac-secret, credBlob) are the
client's own.  Client errors become the DOMException a browser rejects with (:func:`dom_error`).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from fido2.client import ClientError, DefaultClientDataCollector, Fido2Client, PinRequiredError
from fido2.ctap import CtapDevice, CtapError
from fido2.ctap2.base import Ctap2
from fido2.rpid import verify_rp_id
from fido2.webauthn import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions,
    UserVerificationRequirement,
)

from ..clock import Clock
from ..device import Device
from ..fido2.authenticator.faults import Fault, clear, inject
from ..fido2.core import Authenticator
from ..fido2.device import Fido2Device
from ..fido2.softdevice import SoftCtapDevice
from ..fido2.user import Presence
from ..open.interaction import NoInteraction, ScriptedInteraction, UserInteraction, as_fido2
from ._shim import BINDING, init_script
from .errors import AttachError, CeremonyError, DomErrorName
from .responses import assertion_json, registration_json

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

AuthenticatorSource = str | Authenticator | CtapDevice | Device | None

_Options = PublicKeyCredentialCreationOptions | PublicKeyCredentialRequestOptions
_TIMEOUT_MSG = "The operation either timed out or was not allowed."
_E = CtapError.ERR
# what the user (or the absent user) did: a browser reports all of it as NotAllowedError
_USER_REFUSED = frozenset({
    _E.OPERATION_DENIED, _E.USER_ACTION_TIMEOUT, _E.ACTION_TIMEOUT, _E.KEEPALIVE_CANCEL, _E.NO_CREDENTIALS,
    _E.PIN_INVALID, _E.PIN_BLOCKED, _E.PIN_AUTH_INVALID, _E.PIN_AUTH_BLOCKED, _E.PIN_NOT_SET,
    _E.PUAT_REQUIRED, _E.UV_INVALID, _E.UV_BLOCKED, _E.NOT_ALLOWED,
})


@dataclass(frozen=True)
class Ceremony:
    """One ``navigator.credentials`` call the bridge answered (``error`` is None on success)."""

    kind: str  # "create" or "get"
    origin: str
    rp_id: str | None
    error: DomErrorName | None = None
    message: str = ""
    credential_id: str | None = None  # base64url, on success

    @property
    def ok(self) -> bool:
        return self.error is None


def origin_of(url: str) -> str:
    """The serialised origin of a URL (scheme://host[:port], default ports dropped)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "null"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    return f"{parts.scheme}://{host}{port}"


def dom_error(e: Exception) -> CeremonyError:
    """Map a python-fido2 client error (or a transport failure) to the browser's DOMException."""
    if isinstance(e, CeremonyError):
        return e
    if isinstance(e, PinRequiredError):
        return CeremonyError(DomErrorName.NOT_ALLOWED, "user verification was required but no PIN was given")
    if isinstance(e, ClientError):
        cause = e.cause.code if isinstance(e.cause, CtapError) else None
        detail = f" ({cause.name})" if cause is not None else (f" ({e.cause})" if e.cause else "")
        if cause == CtapError.ERR.CREDENTIAL_EXCLUDED:
            return CeremonyError(DomErrorName.INVALID_STATE,
                                 "The user attempted to register an authenticator that contains one of the "
                                 "credentials already registered with the relying party.")
        if cause in _USER_REFUSED:
            return CeremonyError(DomErrorName.NOT_ALLOWED, _TIMEOUT_MSG + detail)
        if e.code is ClientError.ERR.CONFIGURATION_UNSUPPORTED:
            return CeremonyError(DomErrorName.NOT_SUPPORTED, f"the authenticator cannot do this{detail}")
        if e.code is ClientError.ERR.OTHER_ERROR:
            return CeremonyError(DomErrorName.UNKNOWN, f"the authenticator failed{detail}")
        return CeremonyError(DomErrorName.NOT_ALLOWED, _TIMEOUT_MSG + detail)
    if isinstance(e, CtapError):
        return CeremonyError(DomErrorName.NOT_ALLOWED, f"{_TIMEOUT_MSG} ({e.code.name})")
    return CeremonyError(DomErrorName.UNKNOWN,
                         f"the authenticator could not be reached: {type(e).__name__}: {e}")


_ATTACHED: weakref.WeakKeyDictionary[Any, VirtualWebAuthn] = weakref.WeakKeyDictionary()


class _Job:
    def __init__(self) -> None:
        self.cancel = threading.Event()  # python-fido2 also sets it when the options' timeout passes
        self.aborted = threading.Event()  # only the page's AbortSignal sets this one
        self.done = threading.Event()
        self.reply: dict[str, Any] = {}


class VirtualWebAuthn:
    """A tokensim FIDO2 authenticator as the WebAuthn platform of a browser context or page.

    ``authenticator``: None (a fresh in-memory soft authenticator), a :class:`~tokens.fido2.Authenticator`,
    any ``fido2.ctap.CtapDevice`` (``SoftCtapDevice``, a UDP or USB one), a ``Fido2Device`` from
    :func:`tokens.open.open_device`, a device URL (``fido2-sim:NAME``, ``fido2-udp://HOST:PORT``,
    ``fido2-hid:``) or a bare name of a stored soft authenticator.

    ``pin`` answers PIN requests (shorthand for ``interaction=ScriptedInteraction(pin)``);
    ``interaction`` is the same user-interaction hook the CLI uses.  ``platform=True`` plays a
    platform authenticator (attachment "platform", transport "internal", UVPAA true); by default it
    is a USB security key.
    """

    def __init__(self, authenticator: AuthenticatorSource = None, *, pin: str | None = None,
                 interaction: UserInteraction | None = None, clock: Clock | None = None,
                 platform: bool = False, transports: list[str] | None = None,
                 inline_wait: float = 0.5) -> None:
        self._owned: Device | None = None
        if interaction is None:
            interaction = ScriptedInteraction(pin) if pin is not None else None
        self.device = self._resolve(authenticator, clock, interaction)
        if interaction is None:
            held = getattr(self._owned, "pin", None) or getattr(authenticator, "pin", None)
            interaction = ScriptedInteraction(held) if isinstance(held, str) else NoInteraction()
        self.interaction: UserInteraction = interaction
        self.platform = platform
        self.transports = list(transports or (["internal"] if platform else ["usb"]))
        self.inline_wait = inline_wait
        self.ceremonies: list[Ceremony] = []
        self._jobs: dict[int, _Job] = {}
        self._ids = itertools.count(1)
        self._busy = threading.Lock()
        self._state = threading.Lock()

    # -- the authenticator -----------------------------------------------------------------------------
    def _resolve(self, source: AuthenticatorSource, clock: Clock | None,
                 interaction: UserInteraction | None) -> CtapDevice:
        if source is None:
            return SoftCtapDevice(Authenticator(clock=clock))
        if isinstance(source, Authenticator):
            return SoftCtapDevice(source)
        if isinstance(source, CtapDevice):
            return source
        if isinstance(source, Fido2Device):
            return source.ctap_device
        if isinstance(source, str):
            from ..open import open_device

            url = source if ":" in source else f"fido2-sim:{source}"
            dev = open_device(url, reference=clock, interaction=interaction)
            if not isinstance(dev, Fido2Device):
                dev.close()
                raise AttachError(f"{url} is not a FIDO2 authenticator")
            self._owned = dev
            return dev.ctap_device
        raise AttachError(f"cannot use {type(source).__name__} as a FIDO2 authenticator")

    @property
    def authenticator(self) -> Authenticator:
        """The software authenticator behind the bridge (faults, presence, clones need one)."""
        if isinstance(self.device, SoftCtapDevice):
            return self.device.authenticator
        raise AttachError(f"{self.device!r} is not a tokensim software authenticator "
                          "(fault injection and scripted presence need one)")

    def use(self, authenticator: Authenticator | CtapDevice) -> None:
        """Answer from now on with another authenticator (e.g. a clone), keeping the pages attached."""
        if isinstance(authenticator, Authenticator):
            authenticator = SoftCtapDevice(authenticator)
        self.device = authenticator

    def clone(self) -> Authenticator:
        """A cloned key: same credentials and counters now; it lags once the original signs again."""
        return self.authenticator.clone()

    def inject(self, *faults: Fault) -> None:
        """Stack relying-party faults on the assertion path (see :mod:`tokens.fido2.faults`)."""
        inject(self.authenticator, *faults)

    def clear_faults(self) -> None:
        clear(self.authenticator)

    @contextmanager
    def faults(self, *faults: Fault) -> Iterator[None]:
        """``with bridge.faults(BadSignature()): ...`` — faults only inside the block."""
        self.inject(*faults)
        try:
            yield
        finally:
            self.clear_faults()

    @property
    def presence(self) -> Presence:
        return self.authenticator.presence

    @presence.setter
    def presence(self, value: Presence) -> None:
        """Who touches the key: AutoApprove (default), Deny, WaitThenTimeout, Scripted ..."""
        self.authenticator.presence = value

    def capabilities(self) -> dict[str, bool]:
        """What ``PublicKeyCredential.getClientCapabilities()`` reports for this authenticator."""
        info = Ctap2(self.device).info
        exts = set(info.extensions)
        return {
            "conditionalCreate": False, "conditionalGet": False, "hybridTransport": False,
            "passkeyPlatformAuthenticator": self.platform,
            "userVerifyingPlatformAuthenticator": self.platform,
            "relatedOrigins": False, "signalAllAcceptedCredentials": True, "signalCurrentUserDetails": True,
            "signalUnknownCredential": True, "extension:credProps": True,
            "extension:credProtect": "credProtect" in exts, "extension:minPinLength": "minPinLength" in exts,
            "extension:hmacCreateSecret": "hmac-secret" in exts, "extension:prf": "hmac-secret" in exts,
            "extension:largeBlob": "largeBlobKey" in exts and bool(info.options.get("largeBlobs")),
            "extension:credBlob": "credBlob" in exts,
        }

    # -- attaching -------------------------------------------------------------------------------------
    def script(self) -> str:
        return init_script(platform=self.platform, capabilities=self.capabilities())

    def attach(self, target: BrowserContext | Page) -> Self:
        """Answer WebAuthn in ``target`` (a Playwright sync-API BrowserContext or Page): documents loaded
        from now on, and the frames already open."""
        script = self.script()
        if target in _ATTACHED:  # a second bridge for the same target takes over its binding
            _ATTACHED[target] = self
        else:
            _ATTACHED[target] = self
            target.expose_binding(BINDING, lambda source, msg: _ATTACHED[target]._on_call(source, msg))
            target.add_init_script(script=script)
        pages = [target] if hasattr(target, "frames") else list(getattr(target, "pages", []))
        for page in pages:
            for frame in page.frames:
                try:
                    frame.evaluate(script)
                except Exception:  # a frame that is navigating or gone: its next document gets the script
                    pass
        return self

    def close(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel.set()
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the binding -----------------------------------------------------------------------------------
    def _on_call(self, source: dict[str, Any], msg: Any) -> dict[str, Any]:
        op = msg.get("op") if isinstance(msg, dict) else None
        if op in ("poll", "cancel"):
            job_id = msg.get("id")
            with self._state:
                job = self._jobs.get(job_id) if isinstance(job_id, int) else None
            if job is None or not isinstance(job_id, int):
                return {"status": "error", "name": "UnknownError", "message": "no such request"}
            if op == "cancel":
                job.aborted.set()
                job.cancel.set()
                return {"status": "cancelled"}
            return self._reply(job_id, job)
        if op not in ("create", "get") or not isinstance(msg.get("publicKey"), dict):
            return {"status": "error", "name": "TypeError", "message": "malformed request"}
        frame = source.get("frame")
        origin = origin_of(str(getattr(frame, "url", "") or ""))
        if not self._busy.acquire(blocking=False):
            return {"status": "error", "name": "NotAllowedError", "message": "A request is already pending."}
        job, job_id = _Job(), next(self._ids)
        with self._state:
            self._jobs[job_id] = job
        threading.Thread(target=self._run, args=(job, op, origin, msg["publicKey"]), daemon=True,
                         name=f"tokensim-webauthn-{job_id}").start()
        job.done.wait(self.inline_wait)
        return self._reply(job_id, job)

    def _reply(self, job_id: int, job: _Job) -> dict[str, Any]:
        if not job.done.is_set():
            return {"status": "pending", "id": job_id}
        with self._state:
            self._jobs.pop(job_id, None)
        return job.reply

    def _run(self, job: _Job, op: str, origin: str, public_key: dict[str, Any]) -> None:
        rp_id: str | None = None
        try:
            opts = _parse_options(op, public_key)
            # no rpId in the options: the origin's effective domain, as a browser does
            if isinstance(opts, PublicKeyCredentialCreationOptions):
                rp_id = opts.rp.id or urlsplit(origin).hostname or ""
                opts = replace(opts, rp=replace(opts.rp, id=rp_id))
            else:
                rp_id = opts.rp_id or urlsplit(origin).hostname or ""
                opts = replace(opts, rp_id=rp_id)
            credential = self._ceremony(opts, origin, rp_id, job.cancel)
            self.ceremonies.append(Ceremony(op, origin, rp_id, credential_id=credential["id"]))
            job.reply = {"status": "ok", "credential": credential}
        except Exception as e:
            err = dom_error(e)
            if job.aborted.is_set() and err.name is DomErrorName.NOT_ALLOWED:
                err = CeremonyError(DomErrorName.ABORT, "The operation was aborted.")
            self.ceremonies.append(Ceremony(op, origin, rp_id, err.name, err.message))
            job.reply = {"status": "error", "name": err.name.value, "message": err.message}
        finally:
            self._busy.release()
            job.done.set()

    # -- the ceremonies --------------------------------------------------------------------------------
    def _client(self, origin: str, rp_id: str) -> Fido2Client:
        if origin == "null":
            raise CeremonyError(DomErrorName.NOT_ALLOWED, "WebAuthn needs a secure context")
        if not verify_rp_id(rp_id, origin):
            raise CeremonyError(DomErrorName.SECURITY,
                                f"The relying party ID {rp_id!r} is not a registrable domain suffix of, "
                                f"nor equal to the current domain ({origin}).")
        return Fido2Client(self.device, DefaultClientDataCollector(origin),
                           user_interaction=as_fido2(self.interaction))

    def _ceremony(self, opts: _Options, origin: str, rp_id: str, cancel: threading.Event) -> dict[str, Any]:
        client = self._client(origin, rp_id)
        opts = _browser_uv(opts, client.info.options)
        attachment = "platform" if self.platform else "cross-platform"
        if isinstance(opts, PublicKeyCredentialCreationOptions):
            made = client.make_credential(opts, event=cancel)
            return registration_json(made, transports=self.transports, attachment=attachment)
        # several discoverable credentials: a browser shows an account chooser; we take the first
        got = client.get_assertion(opts, event=cancel).get_response(0)
        return assertion_json(got, attachment=attachment)


def _browser_uv(opts: _Options, options: dict[str, Any]) -> _Options:
    """userVerification "preferred" on a key with no PIN or UV set up: a browser goes on without UV
    (python-fido2's client refuses), so ask the client for "discouraged" then."""
    if any(options.get(k) for k in ("uv", "clientPin", "bioEnroll")) or options.get("alwaysUv"):
        return opts
    preferred = (UserVerificationRequirement.PREFERRED, None)
    if isinstance(opts, PublicKeyCredentialCreationOptions):
        sel = opts.authenticator_selection or AuthenticatorSelectionCriteria()
        if sel.user_verification not in preferred:
            return opts
        sel = replace(sel, user_verification=UserVerificationRequirement.DISCOURAGED)
        return replace(opts, authenticator_selection=sel)
    if opts.user_verification not in preferred:
        return opts
    return replace(opts, user_verification=UserVerificationRequirement.DISCOURAGED)


def _parse_options(op: str, pk: dict[str, Any]) -> _Options:
    cls = PublicKeyCredentialCreationOptions if op == "create" else PublicKeyCredentialRequestOptions
    try:
        return cls.from_dict(pk)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise CeremonyError(DomErrorName.TYPE, f"invalid {cls.__name__}: {e}") from None


def attach_webauthn(target: BrowserContext | Page, authenticator: AuthenticatorSource = None,
                    **kw: Any) -> VirtualWebAuthn:
    """``VirtualWebAuthn(authenticator, **kw).attach(target)``."""
    return VirtualWebAuthn(authenticator, **kw).attach(target)
