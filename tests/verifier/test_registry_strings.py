"""register() accepts status/kind as strings (as scripts and JSON give them) and rejects unknown ones."""

from __future__ import annotations

import pytest

from tokens.errors import InputError
from tokens.verifier import Verifier
from tokens.verifier.model import Status
from tokens.verifier.store import Store


def test_string_status_and_kind(store: Store) -> None:
    v = Verifier(store)
    cred = v.register("S1", b"k" * 20, kind="hotp", status="active", at=0)
    assert cred.status is Status.ACTIVE
    assert v.get("S1").status is Status.ACTIVE
    with pytest.raises(InputError):
        v.register("S2", b"k" * 20, status="enabled", at=0)
    with pytest.raises(InputError):
        v.register("S3", b"k" * 20, kind="motp", at=0)
    assert v.store.get("S2") is None and v.store.get("S3") is None
