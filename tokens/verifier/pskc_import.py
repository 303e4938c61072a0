"""Import tokens from a PSKC key container (RFC 6030) with python-pskc.

Plain-text and encrypted files are supported: a pre-shared key (``key=``) or a passphrase
(PBKDF2, ``passphrase=``).  Each HOTP/TOTP key becomes a credential keyed by its device serial
(the key id when there is no serial).  A ``TimeDrift`` (whole steps) becomes the credential's
initial offset, so the enrollment/verify windows start where the vendor measured the clock.

Every key gets a line in the report (:class:`ImportedKey`): ``imported``, ``skipped`` (not an OTP
key, or the serial is already registered — importing the same file twice is harmless) or
``error`` (an unreadable key package, a secret that is not base64, ``TimeInterval`` 0, digits out
of range ...).  The import works in two phases: every key is read and checked first, nothing is
written until then, so a file-level problem (not PSKC, wrong decryption key) writes nothing.  Then:

- per key (the default): each good key is registered in its own store transaction; a bad key is
  reported and never leaves anything behind;
- ``atomic=True``: all or nothing — one bad key and no key of the file is registered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum, unique
from typing import Any

from ..errors import InputError
from ..otp import Algorithm, check_digits
from ..params import OtpParams, OtpType
from .core import Verifier
from .errors import CredentialExistsError, ImportFormatError
from .model import Kind, Status

_ALGORITHMS = {"hotp": Kind.HOTP, "totp": Kind.TOTP}


@unique
class Outcome(str, Enum):
    IMPORTED = "imported"
    SKIPPED = "skipped"  # not an OTP key, or the serial is already registered
    ERROR = "error"  # the key is broken: reported, nothing written for it


@dataclass(frozen=True)
class ImportedKey:
    """One key of the file and what became of it (``reason`` says why it was not imported)."""

    serial: str
    outcome: Outcome
    kind: str = ""
    status: str = ""
    reason: str = ""

    @property
    def imported(self) -> bool:
        return self.outcome is Outcome.IMPORTED

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "outcome": self.outcome.value, "imported": self.imported,
                "kind": self.kind, "status": self.status, "reason": self.reason or None}


@dataclass(frozen=True)
class _Planned:
    serial: str
    params: OtpParams = field(repr=False)
    offset_steps: int


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
        raise InputError(f"unsupported algorithm suite {suite!r}") from None


def _load(source: str | os.PathLike[str]) -> tuple[Any, list[tuple[str, Any, str]]]:
    """The container and its key packages, each parsed on its own: (label, device or None, error)."""
    import pskc
    from pskc.exceptions import PSKCError
    from pskc.parser import PSKCParser
    from pskc.xml import find, findall, findtext, parse, remove_namespaces

    container = pskc.PSKC()
    try:
        root = parse(os.fspath(source)).getroot()
    except OSError as e:
        raise ImportFormatError(f"cannot read PSKC file {source}: {e.strerror or e}") from None
    except Exception:  # the XML parser (lxml or defusedxml) raises its own types
        raise ImportFormatError(f"cannot read PSKC file {source}: not well-formed XML") from None
    remove_namespaces(root)
    version = root.get("Version") or root.get("version")
    if root.tag not in ("KeyContainer", "SecretContainer") or (version and version not in ("1", "1.0")):
        raise ImportFormatError(f"cannot read PSKC file {source}: not a PSKC 1.0 KeyContainer")
    try:
        PSKCParser.parse_encryption(container.encryption, find(root, "EncryptionKey", "EncryptionMethod"))
        PSKCParser.parse_mac_method(container.mac, find(root, "MACMethod", "DigestMethod"))
    except (PSKCError, ValueError, TypeError) as e:
        raise ImportFormatError(f"cannot read PSKC file {source}: bad encryption or MAC header ({e})") \
            from None
    mac_algorithm = findtext(root, "MACAlgorithm")
    if mac_algorithm:
        container.mac.algorithm = mac_algorithm
    packages: list[tuple[str, Any, str]] = []
    for kp in findall(root, "KeyPackage", "Device"):
        key_el = find(kp, "Key")
        label = (findtext(kp, "DeviceInfo/SerialNo") or (key_el.get("Id") if key_el is not None else None)
                 or "").strip()
        device = container.add_device()
        try:
            PSKCParser.parse_key_package(device, kp)
        except Exception as e:  # untrusted input through a third-party parser: this key's error only
            container.devices.remove(device)
            packages.append((label, None, f"unreadable key package: {_short(e)}"))
        else:
            packages.append((label, device, ""))
    return container, packages


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:160]


def _check(key: Any, serial: str) -> tuple[Kind, _Planned] | str:
    """The planned registration of one key, or why it cannot be imported (a decryption failure
    with the given key is a file-level error and raises)."""
    from pskc.exceptions import DecryptionError, PSKCError

    kind = _kind(key.algorithm)
    assert kind is not None
    try:
        secret = key.secret
    except DecryptionError as e:
        raise ImportFormatError(f"cannot decrypt key {serial}: {e} (wrong key or passphrase?)") from None
    except (PSKCError, ValueError, TypeError) as e:
        return f"unreadable secret: {_short(e)}"
    if not secret:
        return "no secret"
    try:
        interval = key.time_interval
        if kind is Kind.TOTP and interval is not None and interval <= 0:
            return f"TimeInterval {interval} is not a positive number of seconds"
        digits = check_digits(key.response_length or 6)
        counter = key.counter or 0
        if not 0 <= counter < 2**63:
            return f"counter {counter} out of range"
        if len(secret) < 10:
            return "the secret is shorter than 80 bits"
        params = OtpParams(OtpType(kind.value), bytes(secret), _hash(key.algorithm_suite), digits,
                           period=interval or 30, counter=counter, issuer=key.issuer or "",
                           account=key.key_userid or key.device_userid or "")
        drift = int(key.time_drift or 0)
    except (PSKCError, InputError, ValueError, TypeError) as e:
        return _short(e)
    return kind, _Planned(serial, params, drift)


def import_pskc(verifier: Verifier, source: str | os.PathLike[str], *, key: bytes | None = None,
                passphrase: str | None = None, status: Status = Status.PENDING, atomic: bool = False,
                at: float | None = None) -> list[ImportedKey]:
    """Register every OTP key in ``source``; returns one entry per key, in file order.

    Raises ImportFormatError only for the file as a whole (unreadable, not PSKC, encrypted without
    or with the wrong key); then nothing has been written.
    """
    from pskc.exceptions import PSKCError

    container, packages = _load(source)
    try:
        if key is not None:
            container.encryption.key = key
        elif passphrase is not None:
            container.encryption.derive_key(passphrase)
    except (PSKCError, ValueError, TypeError) as e:
        raise ImportFormatError(f"cannot derive the PSKC decryption key: {e}") from None
    if container.encryption.is_encrypted and key is None and passphrase is None:
        raise ImportFormatError("the PSKC file is encrypted: give the pre-shared key or the passphrase")

    # phase 1: read and check everything, write nothing
    report: list[ImportedKey | tuple[Kind, _Planned]] = []
    seen: set[str] = set()
    for label, device, error in packages:
        if device is None:
            report.append(ImportedKey(label, Outcome.ERROR, reason=error))
            continue
        for k in device.keys:
            serial = str(k.serial or k.id or "").strip()
            kind = _kind(k.algorithm)
            if not serial:
                report.append(ImportedKey("", Outcome.ERROR, reason="no serial or key id"))
            elif kind is None:
                report.append(ImportedKey(serial, Outcome.SKIPPED,
                                          reason=f"not an HOTP/TOTP key ({k.algorithm})"))
            elif serial in seen:
                report.append(ImportedKey(serial, Outcome.ERROR, kind.value,
                                          reason="serial twice in the file"))
            else:
                seen.add(serial)
                checked = _check(k, serial)
                report.append(ImportedKey(serial, Outcome.ERROR, kind.value, reason=checked)
                              if isinstance(checked, str) else checked)
    failed = any(isinstance(r, ImportedKey) and r.outcome is Outcome.ERROR for r in report)

    # phase 2: register (each key one transaction; with atomic, none if any key failed)
    out: list[ImportedKey] = []
    written: list[str] = []
    for r in report:
        if isinstance(r, ImportedKey):
            out.append(r)
            continue
        kind, plan = r
        if atomic and failed:
            out.append(ImportedKey(plan.serial, Outcome.SKIPPED, kind.value,
                                   reason="not imported: another key of the file failed (atomic)"))
            continue
        try:
            p = plan.params
            verifier.register(plan.serial, p.secret, **p.register_kwargs(), offset_steps=plan.offset_steps,
                              status=status, at=at)
        except CredentialExistsError:
            out.append(ImportedKey(plan.serial, Outcome.SKIPPED, kind.value,
                                   reason="serial already registered"))
            continue
        except InputError as e:
            out.append(ImportedKey(plan.serial, Outcome.ERROR, kind.value, reason=_short(e)))
            failed = True
            continue
        written.append(plan.serial)
        out.append(ImportedKey(plan.serial, Outcome.IMPORTED, kind.value, status.value))
    if atomic and failed and written:  # a key the checks let through failed at the store: undo
        for serial in written:
            verifier.store.delete(serial)
        out = [ImportedKey(x.serial, Outcome.SKIPPED, x.kind,
                           reason="not imported: another key of the file failed (atomic)")
               if x.imported else x for x in out]
    return out


__all__ = ["ImportedKey", "Outcome", "import_pskc"]
