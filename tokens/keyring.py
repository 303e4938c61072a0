"""Secrets at rest: the keys that seal OTP seeds in the verifier stores and the device store.

A seed is sealed with AES-256-GCM under one key of the :class:`Keyring`; the key's id is stored
beside every sealed value (so keys can be rotated row by row) and the owner's name (serial,
device name) is the associated data, so a sealed seed copied into another row does not open.

Where the keys come from (first match wins)::

    $TOKENSIM_KEY        one key: 64 hex digits or base64 of 32 bytes (id "env")
    $TOKENSIM_KEY_FILE   a key file (below)
    <state dir>/keys     the default key file, created 0600 on first use

A key file holds one key per line, ``<id> <base64 of 32 bytes>``; the first line is the
*primary* key (new seals use it), the others only open older values until they are re-sealed
(``tokensim key rotate``).  ``TOKENSIM_PLAINTEXT=1`` (or ``Keyring.plaintext()``) stores seeds
unsealed — only when asked.

Errors (all :class:`KeyringError`, a StoreError: one CLI line): a key file that cannot be read or
parsed, a value sealed under a key id the keyring does not hold, a value that does not open (wrong
key or tampered data).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import paths
from ._fileutil import atomic_write
from .errors import StoreError

__all__ = ["ENV_FILE", "ENV_KEY", "ENV_PLAINTEXT", "PLAINTEXT_ID", "Keyring", "KeyringError",
           "default_key_file", "default_keyring", "key_file_to_create"]

ENV_KEY = "TOKENSIM_KEY"
ENV_FILE = "TOKENSIM_KEY_FILE"
ENV_PLAINTEXT = "TOKENSIM_PLAINTEXT"
PLAINTEXT_ID = ""  # the key id stored with an unsealed value
_ID = re.compile(r"[A-Za-z0-9._-]{1,32}")
_NONCE = 12


class KeyringError(StoreError):
    """A key is missing, unreadable or wrong, or a sealed value does not open."""


def default_key_file() -> Path:
    return paths.home() / "keys"


def _parse_key(text: str, where: str) -> bytes:
    t = text.strip()
    raw: bytes | None = None
    if re.fullmatch(r"[0-9a-fA-F]{64}", t):
        raw = bytes.fromhex(t)
    else:
        try:
            raw = base64.b64decode(t, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise KeyringError(f"{where}: a key must be 32 bytes as 64 hex digits or base64")
    return raw


@dataclass(frozen=True)
class _Key:
    ident: str
    raw: bytes
    aead: AESGCM


class Keyring:
    """Keys by id; :meth:`seal` uses the primary, :meth:`open` whichever id a value names."""

    def __init__(self, keys: list[tuple[str, bytes]], *, source: str = "keyring",
                 path: Path | None = None) -> None:
        self.source = source
        self.path = path
        self._keys: dict[str, _Key] = {}
        for ident, raw in keys:
            if not _ID.fullmatch(ident):
                raise KeyringError(f"{source}: bad key id {ident!r} (1-32 of letters, digits, . _ -)")
            self._keys[ident] = _Key(ident, raw, AESGCM(raw))
        self.primary: str = keys[0][0] if keys else PLAINTEXT_ID
        self._cache: dict[tuple[str, bytes, bytes], bytes] = {}
        self._cache_lock = threading.Lock()

    # -- construction
    @classmethod
    def plaintext(cls) -> Keyring:
        """No keys: seal() stores values as they are (key id ``""``)."""
        return cls([], source="plaintext mode")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, create: bool = False) -> Keyring:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not create:
                raise KeyringError(f"key file {p} does not exist (set ${ENV_KEY} or ${ENV_FILE}, "
                                   "or create it with 'tokensim key rotate')") from None
            ident = _new_id()
            atomic_write(p, f"{ident} {base64.b64encode(secrets.token_bytes(32)).decode()}\n", mode=0o600)
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KeyringError(f"cannot read key file {p}: {getattr(e, 'strerror', None) or e}") from None
        keys: list[tuple[str, bytes]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise KeyringError(f"{p} line {n}: expected '<id> <base64 key>'")
            keys.append((parts[0], _parse_key(parts[1], f"{p} line {n}")))
        if not keys:
            raise KeyringError(f"key file {p} holds no key")
        return cls(keys, source=str(p), path=p)

    # -- use
    @property
    def sealing(self) -> bool:
        return self.primary != PLAINTEXT_ID

    def ids(self) -> list[str]:
        return list(self._keys)

    def seal(self, plaintext: bytes, owner: str) -> tuple[str, bytes]:
        """(key id, sealed bytes) of ``plaintext`` bound to ``owner``."""
        if not self.sealing:
            return PLAINTEXT_ID, bytes(plaintext)
        key = self._keys[self.primary]
        nonce = os.urandom(_NONCE)
        aad = owner.encode("utf-8", "surrogatepass")
        return key.ident, nonce + key.aead.encrypt(nonce, bytes(plaintext), aad)

    def open(self, ident: str, sealed: bytes, owner: str) -> bytes:
        """The plaintext of a value sealed under key ``ident`` for ``owner``."""
        if ident == PLAINTEXT_ID:
            return bytes(sealed)
        ck = (ident, bytes(sealed), owner.encode("utf-8", "surrogatepass"))
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        key = self._keys.get(ident)
        if key is None:
            raise KeyringError(f"the secret of {owner!r} is sealed with key {ident!r}, which {self.source} "
                               f"does not hold (set ${ENV_KEY} or ${ENV_FILE} to the right key)")
        try:
            plain = key.aead.decrypt(ck[1][:_NONCE], ck[1][_NONCE:], ck[2])
        except (InvalidTag, ValueError):
            raise KeyringError(f"the secret of {owner!r} does not open with key {ident!r} from "
                               f"{self.source}: wrong key or damaged data") from None
        with self._cache_lock:
            if len(self._cache) >= 65536:
                self._cache.clear()
            self._cache[ck] = plain
        return plain

    # -- rotation
    def rotated(self) -> Keyring:
        """A keyring whose primary is a fresh key, keeping the old keys for opening."""
        ident = _new_id(exclude=set(self._keys))
        keys = [(ident, secrets.token_bytes(32)), *((k.ident, k.raw) for k in self._keys.values())]
        return Keyring(keys, source=self.source, path=self.path)

    def without_old_keys(self) -> Keyring:
        """Only the primary key (after every value was re-sealed with it)."""
        k = self._keys[self.primary]
        return Keyring([(k.ident, k.raw)], source=self.source, path=self.path)

    def save(self, path: Path | None = None) -> None:
        """Write the keyring to its key file (0600, atomically), primary first."""
        p = path or self.path
        if p is None:
            raise KeyringError(f"{self.source} is not a key file: nothing to save to")
        lines = [f"{k.ident} {base64.b64encode(k.raw).decode()}" for k in self._keys.values()]
        atomic_write(p, "\n".join(lines) + "\n", mode=0o600)


def _new_id(exclude: set[str] | None = None) -> str:
    while True:
        ident = "k" + secrets.token_hex(4)
        if not exclude or ident not in exclude:
            return ident


def _env_source() -> str | None:
    """Which key source the environment names, first match wins: "plaintext", "key", "file";
    None: the default key file."""
    if (os.environ.get(ENV_PLAINTEXT) or "").lower() in ("1", "true", "yes"):
        return "plaintext"
    if os.environ.get(ENV_KEY):
        return "key"
    return "file" if os.environ.get(ENV_FILE) else None


def key_file_to_create() -> Path | None:
    """The default key file :func:`default_keyring` would create on first use — when the
    environment names no other key source and it does not exist yet; else None.  For read-only
    callers (``tokensim key show``), which must not create it."""
    path = default_key_file()
    return None if _env_source() is not None or path.exists() else path


_default: Keyring | None = None
_default_lock = threading.Lock()


def default_keyring(*, reload: bool = False) -> Keyring:
    """The keyring the environment names (see the module docstring); a key file is created on
    first use in the state directory.  Cached per process and per environment."""
    global _default
    sig = (os.environ.get(ENV_PLAINTEXT), os.environ.get(ENV_KEY), os.environ.get(ENV_FILE),
           str(default_key_file()))
    with _default_lock:
        if _default is not None and not reload and getattr(_default, "_sig", None) == sig:
            return _default
        source = _env_source()
        if source == "plaintext":
            ring = Keyring.plaintext()
        elif source == "key":
            ring = Keyring([("env", _parse_key(os.environ[ENV_KEY], f"${ENV_KEY}"))], source=f"${ENV_KEY}")
        elif source == "file":
            ring = Keyring.from_file(os.environ[ENV_FILE])
        else:
            ring = Keyring.from_file(default_key_file(), create=True)
        ring._sig = sig  # type: ignore[attr-defined]
        _default = ring
        return ring
