"""Credential key pairs: generation, signing and COSE encoding for ES256, ES384, ES512, EdDSA, RS256
and PS256.

Private keys are kept as bytes (the EC scalar, the Ed25519 seed, or PKCS#8 DER for RSA) so they fit
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
from fido2.cose import ES256, ES384, ES512, PS256, RS256, CoseKey, EdDSA

from ..errors import ERR, CtapStatus


@unique
class Alg(IntEnum):
    ES256 = -7
    EDDSA = -8
    ES384 = -35
    ES512 = -36
    PS256 = -37
    RS256 = -257

    @classmethod
    def parse(cls, name: str | int) -> Alg:
        if isinstance(name, int):
            return cls(name)
        key = name.strip().upper().replace("-", "")
        for alg in cls:
            if alg.label.upper() == key:
                return alg
        names = ", ".join(a.label for a in cls)
        raise ValueError(f"unsupported algorithm {name!r} (expected one of {names})")

    @property
    def kept_in_state(self) -> bool:
        """RSA keys are too big for a credential ID: the state keeps them and the ID wraps a handle."""
        return self in (Alg.RS256, Alg.PS256)

    @property
    def label(self) -> str:
        return "EdDSA" if self is Alg.EDDSA else self.name

    @property
    def curve(self) -> ec.EllipticCurve:
        return _CURVES[self][0]


SUPPORTED = tuple(Alg)
#: ECDSA algorithm -> (curve, hash, scalar bytes, python-fido2 COSE class)
_CURVES: dict[Alg, tuple[ec.EllipticCurve, hashes.HashAlgorithm, int, type[CoseKey]]] = {
    Alg.ES256: (ec.SECP256R1(), hashes.SHA256(), 32, ES256),
    Alg.ES384: (ec.SECP384R1(), hashes.SHA384(), 48, ES384),
    Alg.ES512: (ec.SECP521R1(), hashes.SHA512(), 66, ES512),
}
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


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
            pad = _PSS if self.alg is Alg.PS256 else padding.PKCS1v15()
            return self._key.sign(message, pad, hashes.SHA256())
        return self._key.sign(message, ec.ECDSA(_CURVES[self.alg][1]))


def generate(alg: Alg) -> KeyPair:
    if alg.kept_in_state:
        r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return load(alg, r.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    if alg is Alg.EDDSA:
        k = ed25519.Ed25519PrivateKey.generate()
        return load(alg, k.private_bytes_raw())
    curve, _, size, _ = _CURVES[alg]
    e = ec.generate_private_key(curve)
    return load(alg, e.private_numbers().private_value.to_bytes(size, "big"))


def load(alg: Alg | int, private: bytes) -> KeyPair:
    alg = Alg(alg)
    if alg.kept_in_state:
        rk = serialization.load_der_private_key(private, password=None)
        if not isinstance(rk, rsa.RSAPrivateKey):
            raise ValueError("not an RSA key")
        rsa_cose = PS256 if alg is Alg.PS256 else RS256
        rcose = rsa_cose.from_cryptography_key(rk.public_key())  # type: ignore[no-untyped-call]
        return KeyPair(alg, private, rk, dict(rcose))
    if alg is Alg.EDDSA:
        ek = ed25519.Ed25519PrivateKey.from_private_bytes(private)
        cose: CoseKey = EdDSA.from_cryptography_key(ek.public_key())  # type: ignore[no-untyped-call]
        return KeyPair(alg, private, ek, dict(cose))
    curve, _, _, cose_cls = _CURVES[alg]
    pk = ec.derive_private_key(int.from_bytes(private, "big"), curve)
    cose = cose_cls.from_cryptography_key(pk.public_key())
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
