"""Credential key pairs: generation, signing and COSE encoding for ES256, EdDSA and RS256.

Private keys are kept as bytes (the P-256 scalar, the Ed25519 seed, or PKCS#8 DER for RSA) so they fit
in a wrapped credential ID or a JSON state file; :func:`load` turns them back into a signing key
(cached by the caller, since deriving a P-256 public key costs a scalar multiplication).  RSA keys
are too big for a credential ID, so the authenticator keeps them in its state and wraps a handle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2.cose import ES256, RS256, CoseKey, EdDSA

from ..errors import ERR, CtapStatus


@unique
class Alg(IntEnum):
    ES256 = -7
    EDDSA = -8
    RS256 = -257

    @classmethod
    def parse(cls, name: str | int) -> Alg:
        if isinstance(name, int):
            return cls(name)
        key = name.strip().upper().replace("-", "")
        for alg in cls:
            if alg.label.upper() == key:
                return alg
        raise ValueError(f"unsupported algorithm {name!r} (expected ES256, EdDSA or RS256)")

    @property
    def kept_in_state(self) -> bool:
        """RSA keys are too big for a credential ID: the state keeps them and the ID wraps a handle."""
        return self is Alg.RS256

    @property
    def label(self) -> str:
        return {Alg.ES256: "ES256", Alg.EDDSA: "EdDSA", Alg.RS256: "RS256"}[self]


SUPPORTED = (Alg.ES256, Alg.EDDSA, Alg.RS256)
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


@dataclass(frozen=True)
class KeyPair:
    alg: Alg
    private: bytes  # raw scalar / seed / PKCS#8 DER
    _key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    cose: Mapping[int, Any]

    def sign(self, message: bytes) -> bytes:
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.sign(message)
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return self._key.sign(message, _ECDSA_SHA256)


def generate(alg: Alg) -> KeyPair:
    if alg is Alg.RS256:
        r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return load(alg, r.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    if alg is Alg.EDDSA:
        k = ed25519.Ed25519PrivateKey.generate()
        return load(alg, k.private_bytes_raw())
    e = ec.generate_private_key(ec.SECP256R1())
    return load(alg, e.private_numbers().private_value.to_bytes(32, "big"))


def load(alg: Alg | int, private: bytes) -> KeyPair:
    alg = Alg(alg)
    if alg is Alg.RS256:
        rk = serialization.load_der_private_key(private, password=None)
        if not isinstance(rk, rsa.RSAPrivateKey):
            raise ValueError("not an RSA key")
        rcose = RS256.from_cryptography_key(rk.public_key())  # type: ignore[no-untyped-call]
        return KeyPair(alg, private, rk, dict(rcose))
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
