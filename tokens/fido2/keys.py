"""Credential key pairs: generation, signing and COSE encoding for ES256 and EdDSA.

Private keys are kept as raw bytes (the P-256 scalar or the Ed25519 seed) so they fit in a wrapped
credential ID or a JSON state file; :func:`load` turns them back into a signing key (cached by the
caller, since deriving a P-256 public key costs a scalar multiplication).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fido2.cose import ES256, CoseKey, EdDSA

from .errors import ERR, CtapStatus


@unique
class Alg(IntEnum):
    ES256 = -7
    EDDSA = -8

    @classmethod
    def parse(cls, name: str | int) -> Alg:
        if isinstance(name, int):
            return cls(name)
        key = name.strip().upper().replace("-", "")
        if key == "EDDSA":
            return cls.EDDSA
        if key == "ES256":
            return cls.ES256
        raise ValueError(f"unsupported algorithm {name!r} (expected ES256 or EdDSA)")

    @property
    def label(self) -> str:
        return "EdDSA" if self is Alg.EDDSA else "ES256"


SUPPORTED = (Alg.ES256, Alg.EDDSA)
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True)
class KeyPair:
    alg: Alg
    private: bytes  # raw scalar / seed
    _key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    cose: Mapping[int, Any]

    def sign(self, message: bytes) -> bytes:
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.sign(message)
        return self._key.sign(message, _ECDSA_SHA256)


def generate(alg: Alg) -> KeyPair:
    if alg is Alg.EDDSA:
        k = ed25519.Ed25519PrivateKey.generate()
        return load(alg, k.private_bytes_raw())
    e = ec.generate_private_key(ec.SECP256R1())
    return load(alg, e.private_numbers().private_value.to_bytes(32, "big"))


def load(alg: Alg | int, private: bytes) -> KeyPair:
    alg = Alg(alg)
    if alg is Alg.EDDSA:
        ek = ed25519.Ed25519PrivateKey.from_private_bytes(private)
        cose: CoseKey = EdDSA.from_cryptography_key(ek.public_key())  # type: ignore[no-untyped-call]
        return KeyPair(alg, private, ek, dict(cose))
    pk = ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())
    cose = ES256.from_cryptography_key(pk.public_key())  # type: ignore[no-untyped-call]
    return KeyPair(alg, private, pk, dict(cose))


def choose(params: object, allowed: Sequence[Alg] = SUPPORTED) -> Alg:
    """Pick the first allowed algorithm from makeCredential's pubKeyCredParams."""
    if not isinstance(params, list):
        raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "pubKeyCredParams must be an array")
    chosen: Alg | None = None
    for p in params:
        if not isinstance(p, Mapping):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "pubKeyCredParams entry must be a map")
        if "alg" not in p or "type" not in p:
            raise CtapStatus(ERR.MISSING_PARAMETER, "pubKeyCredParams entry needs type and alg")
        if not isinstance(p["alg"], int) or not isinstance(p["type"], str):
            raise CtapStatus(ERR.CBOR_UNEXPECTED_TYPE, "bad pubKeyCredParams entry")
        if chosen is None and p["type"] == "public-key" and p["alg"] in {int(a) for a in allowed}:
            chosen = Alg(p["alg"])
    if chosen is None:
        raise CtapStatus(ERR.UNSUPPORTED_ALGORITHM)
    return chosen
