"""The credential store: credentials over the persistent state, with caches and the dirty flag.

Commands never touch ``state.resident`` / ``state.counters`` directly for lookups; they ask the store,
which also remembers that something changed (``dirty``) so the caller knows to save the state.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from . import keys
from .credentials import CredentialRecord, counter_key, unwrap
from .keys import KeyPair
from .limits import KEY_CACHE
from .state import AuthenticatorState, CounterMode


class CredentialStore:
    def __init__(self, state: AuthenticatorState) -> None:
        self.state = state
        self.dirty = False
        self._keys: OrderedDict[bytes, KeyPair] = OrderedDict()
        self._unwrapped: OrderedDict[tuple[bytes, bytes], CredentialRecord] = OrderedDict()

    def mark_dirty(self) -> None:
        self.dirty = True

    def forget(self) -> None:
        """Drop every cached key (after a reset the old master key is gone)."""
        self._keys.clear()
        self._unwrapped.clear()

    # -- lookups ------------------------------------------------------------------------------------------
    def find(self, credential_id: bytes, rp_id_hash: bytes) -> CredentialRecord | None:
        """The credential with this ID for this RP, if this authenticator made it (and kept it)."""
        memo = (credential_id, rp_id_hash)
        cred = self._unwrapped.get(memo)
        if cred is None:
            cred = unwrap(self.state.master_key, credential_id, rp_id_hash)
            if cred is None:
                return None
            if cred.alg.kept_in_state and cred.private.hex() not in self.state.rsa_keys:
                return None
            self._unwrapped[memo] = cred
            if len(self._unwrapped) > KEY_CACHE:
                self._unwrapped.popitem(last=False)
        if cred.resident:
            return self.resident(credential_id)
        return cred

    def resident(self, credential_id: bytes) -> CredentialRecord | None:
        return next((c for c in self.state.resident if c.credential_id == credential_id), None)

    def residents(self, rp_id_hash: bytes) -> list[CredentialRecord]:
        """Discoverable credentials of one RP, newest first."""
        found = [c for c in self.state.resident if c.rp_id_hash == rp_id_hash]
        return sorted(found, key=lambda c: c.created, reverse=True)

    def rps(self) -> list[tuple[str, bytes]]:
        """(rpId, rpIdHash) of every RP holding a discoverable credential, in creation order."""
        seen: dict[bytes, str] = {}
        for c in self.state.resident:
            seen.setdefault(c.rp_id_hash, c.rp_id)
        return [(rp_id, h) for h, rp_id in seen.items()]

    @property
    def count(self) -> int:
        return len(self.state.resident)

    @property
    def remaining(self) -> int:
        return max(0, self.state.capacity - len(self.state.resident))

    def replaces(self, rp_id_hash: bytes, user_id: bytes) -> bool:
        """Would a new discoverable credential for this account overwrite an existing one?"""
        return any(c.rp_id_hash == rp_id_hash and c.user.get("id") == user_id for c in self.state.resident)

    def keypair(self, cred: CredentialRecord) -> KeyPair:
        kp = self._keys.get(cred.credential_id)
        if kp is None:
            if cred.alg.kept_in_state:
                kp = keys.load(cred.alg, bytes.fromhex(self.state.rsa_keys[cred.private.hex()]))
            else:
                kp = cred.keypair()
            self._keys[cred.credential_id] = kp
            if len(self._keys) > KEY_CACHE:
                self._keys.popitem(last=False)
        return kp

    def counter(self, credential_id: bytes, bump: bool) -> int:
        st = self.state
        if st.counter_mode is CounterMode.ZERO:
            return 0
        if st.counter_mode is CounterMode.GLOBAL:
            if bump:
                st.global_counter += 1
                self.dirty = True
            return st.global_counter
        key = counter_key(credential_id)
        value = st.counters.get(key, 0) + (1 if bump else 0)
        if bump:
            st.counters[key] = value
            self.dirty = True
        return value

    # -- changes ------------------------------------------------------------------------------------------
    def private_handle(self, key: KeyPair) -> bytes:
        """What goes into the wrapped credential ID: the key itself, or (RSA) a handle to it in the state."""
        if not key.alg.kept_in_state:
            return key.private
        handle = os.urandom(16)
        self.state.rsa_keys[handle.hex()] = key.private.hex()
        self.dirty = True
        return handle

    def add_resident(self, cred: CredentialRecord) -> None:
        """Keep a discoverable credential; one for the same account at the same RP is replaced."""
        for old in [c for c in self.state.resident
                    if c.rp_id_hash == cred.rp_id_hash and c.user.get("id") == cred.user.get("id")]:
            self.delete(old.credential_id)
        self.state.resident.append(cred)
        self.dirty = True

    def delete(self, credential_id: bytes) -> bool:
        cred = self.resident(credential_id)
        if cred is None:
            return False
        self.state.resident = [c for c in self.state.resident if c.credential_id != credential_id]
        self.state.rsa_keys.pop(cred.private.hex(), None)
        self.dirty = True
        return True

    def update_user(self, credential_id: bytes, user: dict[str, Any]) -> None:
        self.state.resident = [replace(c, user=user) if c.credential_id == credential_id else c
                               for c in self.state.resident]
        self.dirty = True
