"""Credential records and key wrapping.

Every credential ID this authenticator hands out is a wrapped blob::

    0x01 | nonce (12) | AES-256-GCM(master key, nonce, CBOR{alg, private key, credProtect, ...},
                                    associated data = rpIdHash)

so a non-resident credential needs no storage at all, and an ID presented for another relying party
(different rpIdHash) or by another authenticator (different master key) simply fails to unwrap.
Discoverable credentials use the same ID format and are also kept in the state's resident list
(with the user entity, credBlob and largeBlobKey); their blob says ``resident`` so a deleted
discoverable credential cannot be revived through an allowList.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum, unique
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fido2 import cbor
from fido2.webauthn import AuthenticatorData

from .keys import Alg, KeyPair, load

WRAP_VERSION = 0x01


def rp_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()


class Backup(str, Enum):
    """A credential's backup flags (WebAuthn §6.1.3): BE = backup eligible, BS = backed up (synced)."""

    NONE = "none"
    ELIGIBLE = "eligible"  # BE, not BS: a passkey that could sync but has not
    SYNCED = "synced"  # BE and BS: a synced passkey

    @property
    def flags(self) -> AuthenticatorData.FLAG:
        f = AuthenticatorData.FLAG
        return {Backup.NONE: f(0), Backup.ELIGIBLE: f.BE, Backup.SYNCED: f.BE | f.BS}[self]


@dataclass(frozen=True)
class CredentialRecord:
    credential_id: bytes
    rp_id_hash: bytes
    alg: Alg
    private: bytes = field(repr=False)
    resident: bool = False
    cred_protect: int = 1
    cred_blob: bytes = b""
    hmac_secret: bool = False
    rp_id: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    large_blob_key: bytes | None = field(default=None, repr=False)
    created: float = 0.0
    backup: Backup = Backup.NONE

    def keypair(self) -> KeyPair:
        return load(self.alg, self.private)

    def cred_random(self, uv: bool) -> bytes:
        """hmac-secret's CredRandom (one with UV, one without), derived from the private key."""
        return hashlib.sha256(b"tokensim hmac-secret" + (b"uv" if uv else b"no-uv") + self.private).digest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential_id.hex(), "rp_id_hash": self.rp_id_hash.hex(),
            "alg": int(self.alg), "private": self.private.hex(), "resident": self.resident,
            "cred_protect": self.cred_protect, "cred_blob": self.cred_blob.hex(),
            "hmac_secret": self.hmac_secret, "rp_id": self.rp_id,
            "user": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in self.user.items()},
            "large_blob_key": self.large_blob_key.hex() if self.large_blob_key else None,
            "created": self.created, "backup": self.backup.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CredentialRecord:
        user = dict(d.get("user") or {})
        if "id" in user:
            user["id"] = bytes.fromhex(user["id"])
        lbk = d.get("large_blob_key")
        return cls(
            credential_id=bytes.fromhex(d["credential_id"]), rp_id_hash=bytes.fromhex(d["rp_id_hash"]),
            alg=Alg(d["alg"]), private=bytes.fromhex(d["private"]), resident=bool(d["resident"]),
            cred_protect=int(d["cred_protect"]), cred_blob=bytes.fromhex(d.get("cred_blob", "")),
            hmac_secret=bool(d.get("hmac_secret")), rp_id=d.get("rp_id", ""), user=user,
            large_blob_key=bytes.fromhex(lbk) if lbk else None, created=float(d.get("created", 0.0)),
            backup=Backup(d.get("backup", Backup.NONE.value)),
        )


def counter_key(credential_id: bytes) -> str:
    """Key of a credential's sign counter in the state (IDs are long; a hash is enough)."""
    return hashlib.sha256(credential_id).hexdigest()[:32]


@unique
class Wrapped(IntEnum):
    """Keys of the CBOR map inside a wrapped credential ID."""

    ALG = 1
    PRIVATE = 2
    CRED_PROTECT = 3
    CRED_BLOB = 4
    HMAC_SECRET = 5
    RESIDENT = 6
    BACKUP = 7


def wrap(master_key: bytes, cred: CredentialRecord) -> CredentialRecord:
    """Return ``cred`` with its wrapped credential ID filled in."""
    fields: dict[int, object] = {
        Wrapped.ALG: int(cred.alg), Wrapped.PRIVATE: cred.private, Wrapped.CRED_PROTECT: cred.cred_protect,
        Wrapped.CRED_BLOB: cred.cred_blob, Wrapped.HMAC_SECRET: cred.hmac_secret,
        Wrapped.RESIDENT: cred.resident}
    if cred.backup is not Backup.NONE:
        fields[Wrapped.BACKUP] = cred.backup.value
    payload = cbor.encode({int(k): v for k, v in fields.items()})
    nonce = os.urandom(12)
    blob = bytes([WRAP_VERSION]) + nonce + AESGCM(master_key).encrypt(nonce, payload, cred.rp_id_hash)
    return replace(cred, credential_id=blob)


def unwrap(master_key: bytes, credential_id: bytes, rp_id_hash: bytes) -> CredentialRecord | None:
    """The credential behind ``credential_id`` if this master key made it for this rpIdHash."""
    if len(credential_id) < 1 + 12 + 16 or credential_id[0] != WRAP_VERSION:
        return None
    try:
        payload = AESGCM(master_key).decrypt(credential_id[1:13], credential_id[13:], rp_id_hash)
        m = cbor.decode(payload)
    except (InvalidTag, ValueError):
        return None
    if not isinstance(m, dict):
        return None
    return CredentialRecord(
        credential_id=credential_id, rp_id_hash=rp_id_hash, alg=Alg(m[Wrapped.ALG]),
        private=m[Wrapped.PRIVATE],
        cred_protect=m[Wrapped.CRED_PROTECT], cred_blob=m[Wrapped.CRED_BLOB],
        hmac_secret=bool(m[Wrapped.HMAC_SECRET]), resident=bool(m[Wrapped.RESIDENT]),
        backup=Backup(m.get(Wrapped.BACKUP, Backup.NONE.value)))
