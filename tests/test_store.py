"""The device store: 0600, atomic, concurrent writers from separate processes, corruption safety."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import stat
from pathlib import Path

import pytest

from tokens.clock import DriftModel, ManualClock
from tokens.errors import DeviceExistsError, DeviceNotFoundError, InputError, StoreError
from tokens.store import DeviceStore
from tokens.virtual import VirtualHOTP, VirtualTOTP


def test_round_trip_preserves_codes_and_drift(tmp_path: Path) -> None:
    ref = ManualClock(1_700_000_000)
    store = DeviceStore(tmp_path / "d.json", reference=ref)
    dev = VirtualTOTP(algorithm="SHA512", digits=8, period=60, reference=ref,
                      drift=DriftModel(ppm=40, offset=2, epoch=ref.now()))
    store.add("a", dev, meta={"aws_serial": "arn:aws:iam::1:mfa/a"})
    back = store.get("a")
    for dt in (0, 86400, 3e7):
        assert back.code(at=ref.now() + dt) == dev.code(at=ref.now() + dt)
    assert back.identity == dev.identity
    assert store.meta("a") == {"aws_serial": "arn:aws:iam::1:mfa/a"}
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_hotp_counter_persists_through_using(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "d.json")
    h = VirtualHOTP(b"x" * 20)
    store.add("h", h)
    with store.using("h") as dev:
        first = dev.code()
    with store.using("h") as dev:
        second = dev.code()
    assert [first, second] == [h.peek(0), h.peek(1)]
    stored = store.get("h")
    assert isinstance(stored, VirtualHOTP) and stored.counter == 2


def test_errors(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "d.json")
    store.add("a", VirtualTOTP())
    with pytest.raises(DeviceExistsError):
        store.add("a", VirtualTOTP())
    with pytest.raises(DeviceNotFoundError):
        store.get("zz")
    with pytest.raises(DeviceNotFoundError):
        store.remove("zz")
    with pytest.raises(InputError):
        store.add("../evil", VirtualTOTP())
    store.remove("a")
    assert store.names() == []


def test_corrupt_file_is_reported_and_left_untouched(tmp_path: Path) -> None:
    p = tmp_path / "d.json"
    p.write_text("{not json")
    store = DeviceStore(p)
    with pytest.raises(StoreError, match="corrupt"):
        store.add("a", VirtualTOTP())
    assert p.read_text() == "{not json"


def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    store = DeviceStore(tmp_path / "d.json")
    store.add("a", VirtualTOTP())
    before = store.path.read_bytes()
    with pytest.raises(RuntimeError), store.transaction() as devices:
        devices.clear()
        raise RuntimeError("boom")
    assert store.path.read_bytes() == before


def test_unwritable_store_path_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(StoreError):
        DeviceStore(tmp_path / "d.json").add("a", VirtualTOTP())


def _writer(path: str, prefix: str, n: int) -> None:
    store = DeviceStore(path)
    for i in range(n):
        store.add(f"{prefix}{i}", VirtualTOTP())
        with store.using("shared-hotp") as dev:
            dev.code()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "d.json")
    DeviceStore(path).add("shared-hotp", VirtualHOTP(b"s" * 20))
    ctx = mp.get_context("spawn")
    n = 25
    procs = [ctx.Process(target=_writer, args=(path, p, n)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = DeviceStore(path)
    assert len(store.names()) == 2 * n + 1
    shared = store.get("shared-hotp")
    assert isinstance(shared, VirtualHOTP) and shared.counter == 2 * n
    json.loads(Path(path).read_text())  # still valid JSON


def test_created_comes_from_the_injected_clock_not_the_host(tmp_path: Path) -> None:
    ref = ManualClock(1_234_567_890)
    store = DeviceStore(tmp_path / "d.json", reference=ref)
    store.add("a", VirtualHOTP())
    store.add("b", VirtualHOTP(), at=42.0)
    assert store.record("a")["created"] == 1_234_567_890
    assert store.record("b")["created"] == 42.0
    ref.advance(100)
    store.add("a", VirtualHOTP(), replace=True)  # replacing keeps the first creation time
    assert store.record("a")["created"] == 1_234_567_890
