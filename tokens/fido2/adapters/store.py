"""The JSON file store of persisted authenticators: ``$TOKENSIM_HOME/fido2/NAME.json``, written
atomically with mode 0600, and a lock file so only one process drives an authenticator at a time."""

from __future__ import annotations

import json
import re
from pathlib import Path

from filelock import FileLock, Timeout

from ..._fileutil import atomic_write
from ...errors import DeviceExistsError, DeviceNotFoundError, InputError
from ...paths import home
from ..authenticator.attestation import AttestationCA
from ..authenticator.models import Model
from ..authenticator.state import AuthenticatorState
from ..errors import StateFileError

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


def model_ca(model: Model, base: Path | None = None) -> AttestationCA:
    """tokensim's attestation CA for ``model`` in this home (``fido2/ca/MODEL.json``), made on first use:
    every batch authenticator of the model created here chains to it, and its metadata statement
    (``tokensim fido2 metadata --model``) lists it."""
    path = store_dir(base) / "ca" / f"{model.name}.json"
    try:
        return AttestationCA.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        ca = AttestationCA.generate(model.subject)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, json.dumps(ca.to_dict(), indent=1))
        return ca
    except (OSError, ValueError, KeyError) as e:
        raise StateFileError(f"attestation CA {path} is not usable: {e}") from None


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
