"""The tokensim :class:`~tokens.device.Device` adapter for any FIDO2 authenticator.

:class:`Fido2Device` drives a ``fido2.ctap.CtapDevice`` through python-fido2's ``Ctap2``, so the same
adapter works for the in-process :class:`SoftCtapDevice`, the UDP simulator transport and a real USB
key (``fido2.hid.CtapHidDevice``).  ``enroll`` is makeCredential, ``authenticate`` is getAssertion,
``reset`` is authenticatorReset.  When a PIN is given the adapter obtains a pinUvAuthToken for each
operation; with built-in UV it asks for ``uv``.  ``EnrollRequest.fido2`` (a
:class:`~tokens.device.Fido2Options`) carries ``algorithm`` (COSE id), ``user_id``,
``client_data_hash`` and ``extensions`` (raw CTAP2 extension inputs, e.g.
``{"credProtect": 2, "credBlob": b"..."}``; outputs come back in the records' ``extensions``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fido2.ctap import CtapDevice, CtapError
from fido2.ctap2.base import Ctap2
from fido2.ctap2.pin import ClientPin
from fido2.webauthn import AttestationObject

from ...device import (
    AuthRequest,
    Capability,
    Device,
    DeviceInfo,
    DeviceKind,
    EnrollRequest,
    Fido2Authentication,
    Fido2Enrollment,
    Fido2Options,
)
from ...errors import DeviceNotEnrolledError
from ..errors import Fido2DeviceError

if TYPE_CHECKING:
    from ..authenticator.core import Authenticator

DEFAULT_ALGS = [-7, -8]


def _fail(what: str, e: CtapError) -> Fido2DeviceError:
    return Fido2DeviceError(f"{what} failed: CTAP2 {e.code.name} (0x{int(e.code):02X})", int(e.code))


class Fido2Device(Device):
    def __init__(self, ctap_device: CtapDevice, *, pin: str | None = None, model: str = "FIDO2 authenticator",
                 on_close: Callable[[], None] | None = None) -> None:
        self.ctap_device = ctap_device
        self.ctap2 = Ctap2(ctap_device)
        self.pin, self.model, self._on_close = pin, model, on_close
        self._rp_of: dict[bytes, str] = {}

    # -- identity ------------------------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        return bytes(self.ctap2.info.aaguid).hex()

    @property
    def kind(self) -> DeviceKind:
        return DeviceKind.FIDO2

    @property
    def capabilities(self) -> Capability:
        info = self.ctap2.info
        caps = Capability.FIDO2 | Capability.BUTTON
        if "clientPin" in info.options:
            caps |= Capability.PIN
        if info.options.get("rk"):
            caps |= Capability.RESIDENT_KEYS
        if info.options.get("uv"):
            caps |= Capability.USER_VERIFICATION
        if "U2F_V2" in info.versions:
            caps |= Capability.U2F
        from ..transport.softdevice import SoftCtapDevice

        if isinstance(self.ctap_device, SoftCtapDevice):
            caps |= Capability.SIMULATED
        return caps

    def info(self) -> DeviceInfo:
        info = self.ctap2.get_info()
        return DeviceInfo(self.identity, self.kind, self.capabilities, self.model,
                          firmware=str(info.firmware_version),
                          details={"versions": list(info.versions), "extensions": list(info.extensions),
                                   "options": dict(info.options),
                                   "algorithms": [a["alg"] for a in info.algorithms]})

    # -- auth parameters -----------------------------------------------------------------------------------
    def _auth(self, rp_id: str, cdh: bytes, perm: ClientPin.PERMISSION,
              ) -> tuple[bytes | None, int | None, dict[str, bool]]:
        info = self.ctap2.info
        if self.pin is not None and info.options.get("clientPin"):
            cp = ClientPin(self.ctap2)
            try:
                token = cp.get_pin_token(self.pin, perm, rp_id)
            except CtapError as e:
                raise _fail("PIN verification", e) from None
            return cp.protocol.authenticate(token, cdh), cp.protocol.VERSION, {}
        if info.options.get("uv"):
            return None, None, {"uv": True}
        return None, None, {}

    def enroll(self, request: EnrollRequest | None = None) -> Fido2Enrollment:
        self._check_open()
        req = request or EnrollRequest()
        opts = req.fido2 or Fido2Options()
        cdh = opts.client_data_hash or os.urandom(32)
        user_id = opts.user_id or hashlib.sha256(req.account.encode()).digest()[:16]
        algs = [opts.algorithm] if opts.algorithm is not None else DEFAULT_ALGS
        param, proto, options = self._auth(req.rp_id, cdh, ClientPin.PERMISSION.MAKE_CREDENTIAL)
        if req.resident:
            options["rk"] = True
        try:
            att = self.ctap2.make_credential(
                cdh, {"id": req.rp_id, "name": req.rp_id},
                {"id": user_id, "name": req.account, "displayName": req.account},
                [{"type": "public-key", "alg": a} for a in algs], extensions=opts.extensions,
                options=options or None, pin_uv_param=param, pin_uv_protocol=proto)
        except CtapError as e:
            raise _fail("makeCredential", e) from None
        cred = att.auth_data.credential_data
        assert cred is not None
        obj = AttestationObject.create(att.fmt, att.auth_data, att.att_stmt)
        self._rp_of[cred.credential_id] = req.rp_id
        return Fido2Enrollment(
            kind=self.kind, device_id=self.identity, credential_id=cred.credential_id,
            public_key=dict(cred.public_key), attestation_object=bytes(obj), fmt=att.fmt, rp_id=req.rp_id,
            user_id=user_id, client_data_hash=cdh, resident=req.resident, counter=att.auth_data.counter,
            extensions=dict(att.auth_data.extensions or {}))

    def authenticate(self, request: AuthRequest | None = None) -> Fido2Authentication:
        self._check_open()
        req = request or AuthRequest()
        cid = req.credential_id
        rp_id = req.rp_id or (self._rp_of.get(cid) if cid else None) or EnrollRequest.rp_id
        cdh = req.challenge or os.urandom(32)
        param, proto, options = self._auth(rp_id, cdh, ClientPin.PERMISSION.GET_ASSERTION)
        allow: list[Mapping[str, Any]] | None = [{"id": cid, "type": "public-key"}] if cid else None
        try:
            resp = self.ctap2.get_assertion(rp_id, cdh, allow, req.extensions,
                                            options=options or None, pin_uv_param=param,
                                            pin_uv_protocol=proto)
        except CtapError as e:
            if e.code == CtapError.ERR.NO_CREDENTIALS:
                raise DeviceNotEnrolledError(f"no credential for {rp_id} on {self.identity}") from None
            raise _fail("getAssertion", e) from None
        return Fido2Authentication(
            kind=self.kind, device_id=self.identity, counter=resp.auth_data.counter,
            credential_id=resp.credential["id"] if resp.credential else (cid or b""),
            authenticator_data=bytes(resp.auth_data), signature=resp.signature, client_data_hash=cdh,
            rp_id=rp_id, flags=int(resp.auth_data.flags), user=dict(resp.user) if resp.user else None,
            extensions=dict(resp.auth_data.extensions or {}))

    def reset(self) -> None:
        self._check_open()
        try:
            self.ctap2.reset()
        except CtapError as e:
            raise _fail("authenticatorReset", e) from None
        self._rp_of.clear()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        try:
            if self._on_close is not None:
                self._on_close()
        finally:
            self.ctap_device.close()


def load_locked(name: str, base: Path | None = None,
                **options: Any) -> tuple[Authenticator, Callable[[], None]]:
    """The persisted soft authenticator ``name`` (``options`` go to the Authenticator), locked
    against other processes, and the close callback: save the state if it changed, then unlock."""
    from ..authenticator.core import Authenticator
    from . import store

    lock = store.InUse(name, base).acquire()
    try:
        st = store.load(name, base)
    except BaseException:
        lock.release()
        raise
    auth = Authenticator(st, **options)

    def save() -> None:
        try:
            if auth.dirty:
                store.save(st, base)
        finally:
            lock.release()

    return auth, save


def open_named(name: str, *, pin: str | None = None, base: Path | None = None) -> Fido2Device:
    """A Device over the persisted soft authenticator ``name``; state is saved on close.  The
    authenticator is locked against other processes until then."""
    from ..transport.softdevice import SoftCtapDevice

    auth, save = load_locked(name, base)
    return Fido2Device(SoftCtapDevice(auth), pin=pin, model="tokensim soft FIDO2", on_close=save)
