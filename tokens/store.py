"""The device store: named virtual devices on disk, shared by separate CLI invocations.

One JSON file (``$TOKENSIM_HOME/devices.json``), mode 0600, replaced atomically on every change,
with every read-modify-write done under an exclusive file lock, so two processes writing at once
both land and a failed or killed command leaves the previous file intact.

Secrets at rest: each device's ``uri`` (it carries the seed) is written sealed with the keyring
of :mod:`tokens.keyring` as ``"sealed_uri": {"key": ID, "data": BASE64}`` and opened on read
(plaintext records of older files are read as they are and sealed on the next write).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from . import paths
from .clock import Clock, SystemClock
from .errors import DeviceExistsError, DeviceNotFoundError, InputError, StoreError
from .fileutil import atomic_write
from .virtual import VirtualHOTP, VirtualTOTP, device_from_dict

FORMAT_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(f"invalid device name {name!r} (1-64 of letters, digits and . _ @ + -, "
                         "starting with a letter or digit)")
    return name


class DeviceStore:
    """Named devices in one file.  ``reference`` is the clock the loaded TOTP devices read, and the
    clock that dates new records (``created``)."""

    def __init__(self, path: str | Path | None = None, reference: Clock | None = None,
                 lock_timeout: float = 10.0) -> None:
        self.path = Path(path) if path is not None else paths.devices_file()
        self.reference = reference
        self._lock = FileLock(str(self.path) + ".lock", timeout=lock_timeout)

    # -- raw file access
    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": FORMAT_VERSION, "devices": {}}
        except OSError as e:
            raise StoreError(f"cannot read device store {self.path}: {e.strerror or e}") from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise StoreError(f"device store {self.path} is corrupt ({e.msg} at line {e.lineno}); "
                             "it was left untouched") from None
        if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
            raise StoreError(f"device store {self.path} is not a tokensim device store")
        if data.get("version", 1) > FORMAT_VERSION:
            raise StoreError(f"device store {self.path} was written by a newer tokensim "
                             f"(format {data.get('version')})")
        return _opened(data)

    def _write(self, data: dict[str, Any]) -> None:
        atomic_write(self.path, json.dumps(_sealed(data), indent=2, sort_keys=True) + "\n", mode=0o600)

    @contextmanager
    def transaction(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Lock, read, yield the mutable ``devices`` mapping, write back if no exception."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._lock:
                data = self._read()
                yield data["devices"]
                data["version"] = FORMAT_VERSION
                self._write(data)
        except Timeout:
            raise StoreError(f"device store {self.path} is locked by another process") from None
        except PermissionError as e:
            raise StoreError(f"cannot use device store {self.path}: {e.strerror}") from None
        except OSError as e:
            if isinstance(e, StoreError):
                raise
            raise StoreError(f"cannot use device store {self.path}: {e.strerror or e}") from None

    def _snapshot(self) -> dict[str, dict[str, Any]]:
        devices: dict[str, dict[str, Any]] = self._read()["devices"]
        return devices

    # -- queries
    def names(self) -> list[str]:
        return sorted(self._snapshot())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._snapshot()

    def record(self, name: str) -> dict[str, Any]:
        """The stored record (contains the secret inside ``uri``: do not print it)."""
        rec = self._snapshot().get(name)
        if rec is None:
            raise DeviceNotFoundError(f"no device named {name!r} in {self.path}")
        return rec

    def get(self, name: str) -> VirtualTOTP | VirtualHOTP:
        return device_from_dict(self.record(name), reference=self.reference)

    def meta(self, name: str) -> dict[str, Any]:
        return dict(self.record(name).get("meta") or {})

    # -- changes
    def add(self, name: str, device: VirtualTOTP | VirtualHOTP, *, meta: dict[str, Any] | None = None,
            replace: bool = False, at: float | None = None) -> None:
        """Store ``device`` as ``name``; ``created`` is ``at`` (default: the store's reference clock)."""
        check_name(name)
        created = at if at is not None else (self.reference or SystemClock()).now()
        with self.transaction() as devices:
            if name in devices and not replace:
                raise DeviceExistsError(f"a device named {name!r} already exists")
            rec = device.to_dict()
            rec["created"] = devices.get(name, {}).get("created", created)
            rec["meta"] = dict(meta or {})
            devices[name] = rec

    def put(self, name: str, device: VirtualTOTP | VirtualHOTP) -> None:
        """Save a changed device (e.g. an HOTP counter that moved), keeping its metadata."""
        with self.transaction() as devices:
            old = devices.get(name)
            if old is None:
                raise DeviceNotFoundError(f"no device named {name!r}")
            rec = device.to_dict()
            rec["created"], rec["meta"] = old.get("created"), old.get("meta", {})
            devices[name] = rec

    def update_meta(self, name: str, **meta: Any) -> None:
        with self.transaction() as devices:
            if name not in devices:
                raise DeviceNotFoundError(f"no device named {name!r}")
            devices[name].setdefault("meta", {}).update(meta)

    def remove(self, name: str) -> None:
        with self.transaction() as devices:
            if name not in devices:
                raise DeviceNotFoundError(f"no device named {name!r}")
            del devices[name]

    @contextmanager
    def using(self, name: str) -> Iterator[VirtualTOTP | VirtualHOTP]:
        """Load a device, let the caller use it, and save what changed (HOTP counters) atomically."""
        with self.transaction() as devices:
            rec = devices.get(name)
            if rec is None:
                raise DeviceNotFoundError(f"no device named {name!r} in {self.path}")
            dev = device_from_dict(rec, reference=self.reference)
            yield dev
            new = dev.to_dict()
            new["created"], new["meta"] = rec.get("created"), rec.get("meta", {})
            devices[name] = new


# -- secrets at rest (tokens.keyring): the ``uri`` of each record is sealed on disk
def _sealed(data: dict[str, Any]) -> dict[str, Any]:
    from .keyring import default_keyring

    ring = default_keyring()
    if not ring.sealing:
        return data
    devices = {}
    for name, rec in data.get("devices", {}).items():
        if isinstance(rec, dict) and isinstance(rec.get("uri"), str):
            ident, blob = ring.seal(rec["uri"].encode("utf-8", "surrogatepass"), f"device:{name}")
            rec = {k: v for k, v in rec.items() if k != "uri"}
            rec["sealed_uri"] = {"key": ident, "data": base64.b64encode(blob).decode()}
        devices[name] = rec
    return {**data, "devices": devices}


def _opened(data: dict[str, Any]) -> dict[str, Any]:
    sealed = [n for n, r in data["devices"].items() if isinstance(r, dict) and "sealed_uri" in r]
    if not sealed:
        return data
    from .keyring import KeyringError, default_keyring

    ring = default_keyring()
    for name in sealed:
        rec = data["devices"][name]
        box = rec.pop("sealed_uri")
        try:
            blob = base64.b64decode(box["data"], validate=True)
            ident = str(box["key"])
        except (KeyError, TypeError, ValueError):
            raise KeyringError(f"device {name!r}: damaged sealed record") from None
        rec["uri"] = ring.open(ident, blob, f"device:{name}").decode("utf-8", "surrogatepass")
    return data


def reseal(path: str | Path | None = None) -> int:
    """Write the device store again, sealing every record with the current primary key (key
    rotation); returns how many devices it holds."""
    store = DeviceStore(path)
    if not store.path.exists():
        return 0
    with store.transaction() as devices:
        return len(devices)
