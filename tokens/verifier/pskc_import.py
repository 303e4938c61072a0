"""Import tokens from a PSKC key container (RFC 6030) with python-pskc.

Plain-text and encrypted files are supported: a pre-shared key (``key=``) or a passphrase
(PBKDF2, ``passphrase=``).  Each HOTP/TOTP key becomes a credential keyed by its device serial
(the key id when there is no serial).  A ``TimeDrift`` (whole steps) becomes the credential's
initial offset, so the enrollment/verify windows start where the vendor measured the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..otp import Algorithm
from .core import Verifier
from .errors import CredentialExistsError, ImportFormatError
from .model import Kind, Status

_ALGORITHMS = {"hotp": Kind.HOTP, "totp": Kind.TOTP}


@dataclass(frozen=True)
class ImportedKey:
    serial: str
    imported: bool
    kind: str = ""
    status: str = ""
    reason: str = ""  # why a key was skipped

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "imported": self.imported, "kind": self.kind, "status": self.status,
                "reason": self.reason or None}


def _kind(uri: str | None) -> Kind | None:
    if not uri:
        return None
    tail = uri.rstrip("/").rsplit(":", 1)[-1].rsplit("#", 1)[-1].lower()
    return _ALGORITHMS.get(tail)


def _hash(suite: str | None) -> Algorithm:
    if not suite:
        return Algorithm.SHA1
    try:
        return Algorithm.parse(suite)
    except ValueError:
        raise ImportFormatError(f"unsupported algorithm suite {suite!r}") from None


def import_pskc(verifier: Verifier, source: str | os.PathLike[str], *, key: bytes | None = None,
                passphrase: str | None = None, status: Status = Status.PENDING,
                at: float | None = None) -> list[ImportedKey]:
    """Register every OTP key in ``source``; returns one entry per key (imported or why not)."""
    import pskc
    from pskc.exceptions import PSKCError

    try:
        container = pskc.PSKC(os.fspath(source))
    except (PSKCError, OSError) as e:
        raise ImportFormatError(f"cannot read PSKC file {source}: {e}") from None
    try:
        if key is not None:
            container.encryption.key = key
        elif passphrase is not None:
            container.encryption.derive_key(passphrase)
    except PSKCError as e:
        raise ImportFormatError(f"cannot derive the PSKC decryption key: {e}") from None
    if container.encryption.is_encrypted and key is None and passphrase is None:
        raise ImportFormatError("the PSKC file is encrypted: give the pre-shared key or the passphrase")
    out: list[ImportedKey] = []
    for k in container.keys:
        serial = str(k.serial or k.id or "").strip()
        if not serial:
            out.append(ImportedKey("", False, reason="no serial or key id"))
            continue
        kind = _kind(k.algorithm)
        if kind is None:
            out.append(ImportedKey(serial, False, reason=f"not an HOTP/TOTP key ({k.algorithm})"))
            continue
        try:
            secret = k.secret
        except PSKCError as e:
            raise ImportFormatError(f"cannot decrypt key {serial}: {e} (wrong key or passphrase?)") from None
        if not secret:
            out.append(ImportedKey(serial, False, kind.value, reason="no secret"))
            continue
        try:
            verifier.register(
                serial, secret, kind=kind, algorithm=_hash(k.algorithm_suite), digits=k.response_length or 6,
                period=k.time_interval or 30, counter=k.counter or 0, offset_steps=k.time_drift or 0,
                issuer=k.issuer or "", account=k.key_userid or k.device_userid or "", status=status, at=at)
        except CredentialExistsError:
            out.append(ImportedKey(serial, False, kind.value, reason="serial already registered"))
            continue
        out.append(ImportedKey(serial, True, kind.value, status.value))
    return out
