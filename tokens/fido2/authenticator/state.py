"""Persistent authenticator state (keys, credentials, PIN state, counters) as one record.

Everything that survives a power cycle lives in :class:`AuthenticatorState`; everything that does not
(PIN/UV auth token, key-agreement key, consecutive wrong PINs, pending getNextAssertion) lives in the
services and commands.  The JSON file store is :mod:`tokens.fido2.adapters.store`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..errors import StateFileError
from . import models
from .attestation import AttestationCA, AttestationMode, BatchAttestation
from .credentials import Backup, CredentialRecord
from .keys import Alg
from .limits import CAPACITY, MIN_PIN_LENGTH, PIN_RETRIES, UV_RETRIES

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
    min_pin_length: int = MIN_PIN_LENGTH
    min_pin_rp_ids: list[str] = field(default_factory=list)
    force_pin_change: bool = False
    always_uv: bool = False  # authenticatorConfig toggleAlwaysUv
    ep: bool = False  # enterprise attestation enabled (authenticatorConfig enableEnterpriseAttestation)
    enterprise: BatchAttestation | None = None  # the uniquely identifying enterprise certificate
    ep_rp_ids: list[str] = field(default_factory=list)  # vendor-facilitated enterprise attestation RPs
    capacity: int = CAPACITY
    resident: list[CredentialRecord] = field(default_factory=list)
    counter_mode: CounterMode = CounterMode.PER_CREDENTIAL
    counters: dict[str, int] = field(default_factory=dict)
    global_counter: int = 0
    large_blob: bytes = EMPTY_LARGE_BLOB
    rsa_keys: dict[str, str] = field(default_factory=dict, repr=False)  # handle hex -> PKCS#8 DER hex
    name: str = ""
    model: str = models.DEFAULT.name
    backup: Backup = Backup.NONE  # BE/BS of the credentials it makes
    bio_templates: dict[str, str] = field(default_factory=dict)  # enrolled fingers: template ID hex -> name

    @property
    def spec(self) -> models.Model:
        """The key model this authenticator simulates."""
        return models.get(self.model)

    @classmethod
    def new(cls, *, algorithms: list[Alg] | None = None,
            attestation: AttestationMode | str = AttestationMode.SELF,
            uv: UvMode | str | None = None, capacity: int | None = None,
            counter_mode: CounterMode | str = CounterMode.PER_CREDENTIAL, name: str = "",
            aaguid: bytes | None = None, model: str | models.Model = models.DEFAULT,
            ca: AttestationCA | None = None,
            ep_rp_ids: tuple[str, ...] | list[str] = (),
            backup: Backup | str = Backup.NONE) -> AuthenticatorState:
        """A fresh authenticator of ``model`` (its AAGUID, algorithms, capacity, built-in UV unless given).
        ``ca`` issues the batch certificate (default: a new CA of the model's subject shape)."""
        spec = models.get(model) if isinstance(model, str) else model
        aaguid = aaguid or (spec.aaguid.bytes if spec.aaguid else uuid.uuid4().bytes)
        mode = AttestationMode(attestation)
        batch = enterprise = None
        if mode is AttestationMode.BATCH:
            issuer = ca or AttestationCA.generate(spec.subject)
            batch = issuer.issue(aaguid, spec.subject)
            if spec.enterprise_attestation:
                enterprise = issuer.issue(aaguid, spec.enterprise_subject)
        uv_mode = UvMode(uv) if uv is not None else (UvMode.AUTO if spec.built_in_uv else UvMode.NONE)
        return cls(aaguid=aaguid, master_key=os.urandom(32),
                   algorithms=list(algorithms or spec.algorithms), attestation=mode, batch=batch,
                   uv=uv_mode, capacity=spec.capacity if capacity is None else capacity,
                   counter_mode=CounterMode(counter_mode), name=name, model=spec.name, enterprise=enterprise,
                   ep_rp_ids=list(ep_rp_ids), backup=Backup(backup),
                   bio_templates={"0001": ""} if spec.bio_enroll and uv_mode is UvMode.AUTO else {})

    def wipe(self) -> None:
        """authenticatorReset: new master key (every credential ID dies), no PIN, no blobs."""
        self.master_key = os.urandom(32)
        self.pin_hash, self.pin_length, self.pin_retries = None, 0, PIN_RETRIES
        self.uv_retries, self.min_pin_length, self.min_pin_rp_ids = UV_RETRIES, MIN_PIN_LENGTH, []
        self.force_pin_change = False
        self.always_uv = self.ep = False
        if self.bio_templates:  # the enrolled fingers go with the reset
            self.bio_templates, self.uv = {}, UvMode.NONE
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
            "always_uv": self.always_uv, "ep": self.ep, "ep_rp_ids": self.ep_rp_ids,
            "enterprise": self.enterprise.to_dict() if self.enterprise else None,
            "resident": [c.to_dict() for c in self.resident], "counter_mode": self.counter_mode.value,
            "counters": self.counters, "global_counter": self.global_counter,
            "large_blob": self.large_blob.hex(), "rsa_keys": self.rsa_keys, "model": self.model,
            "backup": self.backup.value, "bio_templates": self.bio_templates,
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
                always_uv=bool(d.get("always_uv")), ep=bool(d.get("ep")),
                ep_rp_ids=list(d.get("ep_rp_ids") or []),
                enterprise=BatchAttestation.from_dict(d["enterprise"]) if d.get("enterprise") else None,
                resident=[CredentialRecord.from_dict(c) for c in d["resident"]],
                counter_mode=CounterMode(d["counter_mode"]), counters=dict(d["counters"]),
                global_counter=int(d["global_counter"]), large_blob=bytes.fromhex(d["large_blob"]),
                rsa_keys=dict(d.get("rsa_keys") or {}), name=d.get("name", ""),
                model=models.get(d.get("model", models.DEFAULT.name)).name,
                backup=Backup(d.get("backup", Backup.NONE.value)),
                bio_templates={str(k): str(v) for k, v in (d.get("bio_templates") or {}).items()},
            )
        except (KeyError, ValueError, TypeError) as e:
            raise StateFileError(f"authenticator state is not valid: {e}") from None
