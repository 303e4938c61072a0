"""Relying-party fault injection as stacked signers on the assertion path.

The authenticator core hands every assertion to ``authenticator.signer``: an object with
``sign(key, auth_data, client_data_hash) -> (auth_data, signature)``.  :class:`KeySigner` is the
honest one; each fault wraps another signer and bends one thing a correct relying party must check:

==========================  =====================================================================
CounterRegression           signs validly, but the sign counter goes back (a cloned authenticator)
WrongRpIdHash               signs validly over authenticator data naming another RP
BadSignature                flips one bit of an otherwise valid signature
FlagOverride                sets / clears UP, UV (...) flags, then signs validly
==========================  =====================================================================

``inject(authenticator, WrongRpIdHash(), BadSignature())`` stacks faults (the last one outermost);
``clear(authenticator)`` removes them.  ``ForNext(fault, n)`` limits a fault to the next ``n``
assertions.  The same faults bend makeCredential's authenticator data and attestation signature
(:meth:`Signer.tamper`).  :data:`NAMED` holds the names the CLI and ``serve``'s control channel use.
:meth:`Authenticator.clone` gives the other flavour of a
cloned authenticator: a second device with the same keys whose counters lag behind.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Protocol

from fido2.webauthn import AuthenticatorData

from .keys import KeyPair

FLAG = AuthenticatorData.FLAG


class Signer(Protocol):
    def sign(self, key: KeyPair, auth_data: bytes, client_data_hash: bytes) -> tuple[bytes, bytes]: ...

    def tamper(self, auth_data: bytes) -> tuple[bytes, Callable[[bytes], bytes]]:
        """For makeCredential: the authenticator data to attest, and what to do to its signature."""
        ...


def _same(signature: bytes) -> bytes:
    return signature


class KeySigner:
    """The honest signer: signature over authenticatorData || clientDataHash."""

    def sign(self, key: KeyPair, auth_data: bytes, client_data_hash: bytes) -> tuple[bytes, bytes]:
        return auth_data, key.sign(auth_data + client_data_hash)

    def tamper(self, auth_data: bytes) -> tuple[bytes, Callable[[bytes], bytes]]:
        return auth_data, _same


class Fault:
    """Base of the wrappers: rewrite the authenticator data before, the signature after signing."""

    inner: Signer = KeySigner()

    def wrap(self, inner: Signer) -> Fault:
        self.inner = inner
        return self

    def before(self, auth_data: bytes) -> bytes:
        return auth_data

    def after(self, signature: bytes) -> bytes:
        return signature

    def sign(self, key: KeyPair, auth_data: bytes, client_data_hash: bytes) -> tuple[bytes, bytes]:
        auth_data, sig = self.inner.sign(key, self.before(auth_data), client_data_hash)
        return auth_data, self.after(sig)

    def tamper(self, auth_data: bytes) -> tuple[bytes, Callable[[bytes], bytes]]:
        auth_data, inner_after = self.inner.tamper(self.before(auth_data))
        return auth_data, lambda sig: self.after(inner_after(sig))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CounterRegression(Fault):
    """Report ``counter`` (default 0) or ``real - by`` instead of the real sign counter."""

    def __init__(self, counter: int | None = 0, by: int | None = None) -> None:
        self.counter, self.by = counter, by

    def before(self, auth_data: bytes) -> bytes:
        real = struct.unpack_from(">I", auth_data, 33)[0]
        value = max(0, real - self.by) if self.by is not None else (self.counter or 0)
        return auth_data[:33] + struct.pack(">I", value) + auth_data[37:]


class WrongRpIdHash(Fault):
    def __init__(self, rp_id: str = "evil.example") -> None:
        self.rp_id_hash = hashlib.sha256(rp_id.encode()).digest()

    def before(self, auth_data: bytes) -> bytes:
        return self.rp_id_hash + auth_data[32:]


class BadSignature(Fault):
    def after(self, signature: bytes) -> bytes:
        return signature[:-1] + bytes([signature[-1] ^ 0x01])


class FlagOverride(Fault):
    def __init__(self, set_flags: int = 0, clear_flags: int = 0) -> None:
        self.set_flags, self.clear_flags = set_flags, clear_flags

    def before(self, auth_data: bytes) -> bytes:
        flags = (auth_data[32] | self.set_flags) & ~self.clear_flags & 0xFF
        return auth_data[:32] + bytes([flags]) + auth_data[33:]


class ForNext(Fault):
    """``fault`` for the next ``count`` user-present assertions, then honest again.  Silent ones (up=false,
    the probe a client sends before an allow-list login) and makeCredential are left alone."""

    def __init__(self, fault: Fault, count: int = 1) -> None:
        self.fault, self.remaining = fault, count

    def wrap(self, inner: Signer) -> Fault:
        self.inner = inner
        self.fault.wrap(inner)
        return self

    def sign(self, key: KeyPair, auth_data: bytes, client_data_hash: bytes) -> tuple[bytes, bytes]:
        if self.remaining > 0 and auth_data[32] & FLAG.UP:
            self.remaining -= 1
            return self.fault.sign(key, auth_data, client_data_hash)
        return self.inner.sign(key, auth_data, client_data_hash)

    def tamper(self, auth_data: bytes) -> tuple[bytes, Callable[[bytes], bytes]]:
        return self.inner.tamper(auth_data)

    def __repr__(self) -> str:
        return f"ForNext({self.fault!r}, {self.remaining})"


#: faults by the names ``fido2 login/register --fault`` and ``serve``'s control channel accept
NAMED: dict[str, Callable[[], Fault]] = {
    "clone": lambda: CounterRegression(counter=None, by=1),  # a copy taken before the last login
    "counter-regression": lambda: CounterRegression(counter=None, by=2),
    "zero-counter": lambda: CounterRegression(counter=0),
    "bad-signature": BadSignature,
    "wrong-rpid": WrongRpIdHash,
    "clear-up": lambda: FlagOverride(clear_flags=FLAG.UP),
    "clear-uv": lambda: FlagOverride(clear_flags=FLAG.UV),
    "set-uv": lambda: FlagOverride(set_flags=FLAG.UV),
}


def named(name: str) -> Fault:
    """A fresh fault by its CLI name; ValueError names the choices."""
    try:
        return NAMED[name]()
    except KeyError:
        raise ValueError(f"unknown fault {name!r} (expected one of {', '.join(NAMED)})") from None


class _HasSigner(Protocol):
    signer: Signer


def inject(target: _HasSigner, *faults: Fault) -> None:
    for f in faults:
        target.signer = f.wrap(target.signer)


def clear(target: _HasSigner) -> None:
    target.signer = KeySigner()
