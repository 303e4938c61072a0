"""OTP schemes: ``virtual:NAME`` (the device store), ``totp:?...`` / ``hotp:?...`` (ad hoc tokens)
and ``otpauth://...`` (a provisioning URI as a device)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..clock import DriftModel, SystemClock
from ..device import (
    AuthRequest,
    Capability,
    Device,
    DeviceInfo,
    DeviceKind,
    EnrollRequest,
    OtpAuthentication,
    OtpEnrollment,
)
from ..errors import InputError, InvalidURIError
from ..otp import Algorithm, decode_secret, random_secret
from ..params import OtpParams, OtpType
from ..store import DeviceStore
from ..virtual import VirtualHOTP, VirtualTOTP, device_from_uri
from ._url import DeviceURL
from .context import OpenContext


class StoredDevice(Device):
    """A device from the store, used through the store: every operation loads the record under the
    store's lock, runs, and writes back what changed (HOTP counters, new secrets, resets), so two
    processes pressing the same HOTP token never reuse a counter."""

    def __init__(self, store: DeviceStore, name: str) -> None:
        self.store, self.name = store, name
        dev = store.get(name)  # DeviceNotFoundError names the store when there is no such device
        self._identity, self._kind, self._caps = dev.identity, dev.kind, dev.capabilities

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def kind(self) -> DeviceKind:
        return self._kind

    @property
    def capabilities(self) -> Capability:
        return self._caps

    def snapshot(self) -> VirtualTOTP | VirtualHOTP:
        """The device as stored now (changes to it are not saved)."""
        self._check_open()
        return self.store.get(self.name)

    def info(self) -> DeviceInfo:
        i = self.snapshot().info()
        return DeviceInfo(identity=i.identity, kind=i.kind, capabilities=i.capabilities, model=i.model,
                          firmware=i.firmware, details={**i.details, "name": self.name,
                                                        "store": str(self.store.path)})

    def enroll(self, request: EnrollRequest | None = None) -> OtpEnrollment:
        self._check_open()
        with self.store.using(self.name) as dev:
            return dev.enroll(request)

    def authenticate(self, request: AuthRequest | None = None) -> OtpAuthentication:
        self._check_open()
        with self.store.using(self.name) as dev:
            return dev.authenticate(request)

    def consecutive(self, n: int = 2, at: float | None = None) -> list[str]:
        self._check_open()
        with self.store.using(self.name) as dev:
            return dev.consecutive(n, at=at)

    def reset(self) -> None:
        self._check_open()
        with self.store.using(self.name) as dev:
            dev.reset()


def open_virtual(url: DeviceURL, ctx: OpenContext) -> Device:
    url = url.expecting("virtual:NAME")
    url.no_query()
    name = url.name()
    store = ctx.options.get("store")
    if store is None or isinstance(store, (str, Path)):
        store = DeviceStore(store, reference=ctx.reference)
    elif not isinstance(store, DeviceStore):
        raise InputError("the store option takes a DeviceStore or a path")
    return StoredDevice(store, name)


def _secret(url: DeviceURL) -> bytes | None:
    raw = url.text("secret")
    if raw is None:
        return None
    try:
        return decode_secret(raw)
    except InputError as e:
        raise url.fail(f"secret: {e}") from None


def _params(url: DeviceURL, otype: OtpType, **typed: Any) -> OtpParams:
    """The URL's OTP parameters as one validated record (a random secret when none is given)."""
    name = (url.text("algorithm") or "SHA1").upper()
    if name not in ("SHA1", "SHA256", "SHA512"):
        raise url.fail(f"algorithm must be SHA1, SHA256 or SHA512, not {name!r}")
    alg = Algorithm(name)
    secret = _secret(url) or random_secret(alg.digest_size)
    return OtpParams(otype, secret, alg, url.integer("digits", 6, 6, 10), **typed,
                     issuer=url.text("issuer") or "tokensim", account=url.text("account") or "user@tokensim")


_COMMON = ("secret", "digits", "algorithm", "issuer", "account", "serial")


def _opaque(url: DeviceURL) -> None:
    if url.netloc or url.path not in ("", "/"):
        raise url.fail("the parameters go in the query string")


def open_totp(url: DeviceURL, ctx: OpenContext) -> Device:
    url = url.expecting("totp:?secret=BASE32&digits=6&period=30&algorithm=SHA1&drift_ppm=0&offset=0")
    url.allow((*_COMMON, "period", "drift_ppm", "offset", "epoch", "t0"))
    _opaque(url)
    reference = ctx.reference or SystemClock()
    drift = DriftModel(ppm=url.number("drift_ppm", 0.0), offset=url.number("offset", 0.0),
                       epoch=url.number("epoch", reference.now()))
    if not -1000 <= drift.ppm <= 1000:
        raise url.fail("drift_ppm must be between -1000 and 1000")
    try:
        params = _params(url, OtpType.TOTP, period=url.integer("period", 30, 1, 3600),
                         t0=url.number("t0", 0.0))
        return VirtualTOTP.from_uri(params, reference=reference, drift=drift,
                                    serial=url.text("serial") or None)
    except InvalidURIError:
        raise
    except InputError as e:
        raise url.fail(str(e)) from None


def open_hotp(url: DeviceURL, ctx: OpenContext) -> Device:
    url = url.expecting("hotp:?secret=BASE32&counter=0&digits=6&algorithm=SHA1")
    url.allow((*_COMMON, "counter"))
    _opaque(url)
    try:
        params = _params(url, OtpType.HOTP, counter=url.integer("counter", 0, 0, 2**64 - 1))
        return VirtualHOTP.from_uri(params, serial=url.text("serial") or None)
    except InvalidURIError:
        raise
    except InputError as e:
        raise url.fail(str(e)) from None


def open_otpauth(url: DeviceURL, ctx: OpenContext) -> Device:
    try:
        return device_from_uri(url.raw, reference=ctx.reference)
    except InputError as e:
        raise url.expecting("otpauth://totp/LABEL?secret=BASE32&...").fail(str(e)) from None
