"""Persistent authenticator state (keys, credentials, PIN state, counters) and its JSON file.

Everything that survives a power cycle lives in :class:`AuthenticatorState`; everything that does not
(PIN/UV auth token, key-agreement key, consecutive wrong PINs, pending getNextAssertion) lives in the
authenticator object.  Files go to ``$TOKENSIM_HOME/fido2/NAME.json``, written atomically with mode 0600.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .._fileutil import atomic_write
from ..errors import DeviceExistsError, DeviceNotFoundError, InputError
from ..paths import home
from .attestation import AttestationMode, BatchAttestation
from .credentials import Credential
from .errors import StateFileError
from .keys import Alg

PIN_RETRIES = 8
UV_RETRIES = 5
EMPTY_LARGE_BLOB = b"\x80" + hashlib.sha256(b"\x80").digest()[:16]


class CounterMode(str, Enum):
    PER_CREDENTIAL = "per-credential"
    GLOBAL = "global"
    ZERO = "zero"


class UvMode(str, Enum):
    NONE = "none"  # no built-in user verification
    AUTO = "auto"  # built-in UV (simulated biometric) that matches
    DENY = "deny"  # built-in UV that never matches


@dataclass
class AuthenticatorState:
    aaguid: bytes
    master_key: bytes = field(repr=False)
    algorithms: list[Alg] = field(default_factory=lambda: [Alg.ES256, Alg.EDDSA])
    attestation: AttestationMode = AttestationMode.SELF
    batch: BatchAttestation | None = None
    uv: UvMode = UvMode.NONE
    pin_hash: bytes | None = field(default=None, repr=False)
    pin_length: int = 0
    pin_retries: int = PIN_RETRIES
    uv_retries: int = UV_RETRIES
    min_pin_length: int = 4
    min_pin_rp_ids: list[str] = field(default_factory=list)
    force_pin_change: bool = False
    capacity: int = 25
    resident: list[Credential] = field(default_factory=list)
    counter_mode: CounterMode = CounterMode.PER_CREDENTIAL
    counters: dict[str, int] = field(default_factory=dict)
    global_counter: int = 0
    large_blob: bytes = EMPTY_LARGE_BLOB
    rsa_keys: dict[str, str] = field(default_factory=dict, repr=False)  # handle hex -> PKCS#8 DER hex
    name: str = ""

    @classmethod
    def new(cls, *, algorithms: list[Alg] | None = None,
            attestation: AttestationMode | str = AttestationMode.SELF,
            uv: UvMode | str = UvMode.NONE, capacity: int = 25,
            counter_mode: CounterMode | str = CounterMode.PER_CREDENTIAL, name: str = "",
            aaguid: bytes | None = None) -> AuthenticatorState:
        aaguid = aaguid or uuid.uuid4().bytes
        mode = AttestationMode(attestation)
        batch = BatchAttestation.generate(aaguid) if mode is AttestationMode.BATCH else None
        return cls(aaguid=aaguid, master_key=os.urandom(32),
                   algorithms=list(algorithms or [Alg.ES256, Alg.EDDSA]), attestation=mode, batch=batch,
                   uv=UvMode(uv), capacity=capacity, counter_mode=CounterMode(counter_mode), name=name)

    def wipe(self) -> None:
        """authenticatorReset: new master key (every credential ID dies), no PIN, no blobs."""
        self.master_key = os.urandom(32)
        self.pin_hash, self.pin_length, self.pin_retries = None, 0, PIN_RETRIES
        self.uv_retries, self.min_pin_length, self.min_pin_rp_ids = UV_RETRIES, 4, []
        self.force_pin_change = False
        self.resident, self.counters, self.global_counter = [], {}, 0
        self.large_blob = EMPTY_LARGE_BLOB
        self.rsa_keys = {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "tokensim-fido2/1", "name": self.name, "aaguid": self.aaguid.hex(),
            "master_key": self.master_key.hex(), "algorithms": [int(a) for a in self.algorithms],
            "attestation": self.attestation.value, "batch": self.batch.to_dict() if self.batch else None,
            "uv": self.uv.value, "pin_hash": self.pin_hash.hex() if self.pin_hash else None,
            "pin_length": self.pin_length, "pin_retries": self.pin_retries, "uv_retries": self.uv_retries,
            "min_pin_length": self.min_pin_length, "min_pin_rp_ids": self.min_pin_rp_ids,
            "force_pin_change": self.force_pin_change, "capacity": self.capacity,
            "resident": [c.to_dict() for c in self.resident], "counter_mode": self.counter_mode.value,
            "counters": self.counters, "global_counter": self.global_counter,
            "large_blob": self.large_blob.hex(), "rsa_keys": self.rsa_keys,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AuthenticatorState:
        try:
            return cls(
                aaguid=bytes.fromhex(d["aaguid"]), master_key=bytes.fromhex(d["master_key"]),
                algorithms=[Alg(a) for a in d["algorithms"]], attestation=AttestationMode(d["attestation"]),
                batch=BatchAttestation.from_dict(d["batch"]) if d.get("batch") else None, uv=UvMode(d["uv"]),
                pin_hash=bytes.fromhex(d["pin_hash"]) if d.get("pin_hash") else None,
                pin_length=int(d.get("pin_length", 0)), pin_retries=int(d["pin_retries"]),
                uv_retries=int(d.get("uv_retries", UV_RETRIES)), min_pin_length=int(d["min_pin_length"]),
                min_pin_rp_ids=list(d.get("min_pin_rp_ids", [])),
                force_pin_change=bool(d.get("force_pin_change")), capacity=int(d["capacity"]),
                resident=[Credential.from_dict(c) for c in d["resident"]],
                counter_mode=CounterMode(d["counter_mode"]), counters=dict(d["counters"]),
                global_counter=int(d["global_counter"]), large_blob=bytes.fromhex(d["large_blob"]),
                rsa_keys=dict(d.get("rsa_keys") or {}), name=d.get("name", ""),
            )
        except (KeyError, ValueError, TypeError) as e:
            raise StateFileError(f"authenticator state is not valid: {e}") from None


# -- the file store ---------------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def store_dir(base: Path | None = None) -> Path:
    return (base or home()) / "fido2"


def state_path(name: str, base: Path | None = None) -> Path:
    if not _NAME.match(name):
        raise InputError(f"invalid authenticator name {name!r} (letters, digits, . _ - ; max 64)")
    return store_dir(base) / f"{name}.json"


def save(state: AuthenticatorState, base: Path | None = None) -> Path:
    path = state_path(state.name, base)
    atomic_write(path, json.dumps(state.to_dict(), indent=1))
    return path


def create(state: AuthenticatorState, base: Path | None = None) -> Path:
    if state_path(state.name, base).exists():
        raise DeviceExistsError(f"FIDO2 authenticator {state.name!r} already exists")
    return save(state, base)


def load(name: str, base: Path | None = None) -> AuthenticatorState:
    path = state_path(name, base)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        raise DeviceNotFoundError(f"no FIDO2 authenticator named {name!r}") from None
    except OSError as e:
        raise StateFileError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise StateFileError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise StateFileError(f"{path} is not an authenticator state")
    return AuthenticatorState.from_dict(data)


class InUse:
    """Exclusive use of one authenticator by this process (``serve``, ``open_named``, ``reset``):
    a second writer would overwrite the first one's counters."""

    def __init__(self, name: str, base: Path | None = None) -> None:
        path = state_path(name, base)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.name = name
        self._lock = FileLock(str(path.with_suffix(".lock")))

    def acquire(self) -> InUse:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise StateFileError(f"FIDO2 authenticator {self.name!r} is in use by another process") from None
        return self

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> InUse:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def names(base: Path | None = None) -> list[str]:
    d = store_dir(base)
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []
