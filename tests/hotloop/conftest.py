"""Every hot-loop backend this machine can run, as one fixture: python, c-portable, c-shani."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tokens.hotloop import _python
from tokens.hotloop._python import PythonPreparedKey

try:
    from tokens.hotloop import _c, _cloop
except ImportError:  # extension not built: only the Python backend is tested (see test_extension_built)
    _c = None  # type: ignore[assignment]
    _cloop = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Backend:
    name: str
    key: Callable[[bytes, str], Any]
    verify: Callable[..., list[int | None]]  # (keys, codes, centres, behind, ahead, digits, threads)


def _py_verify(keys: Sequence[Any], codes: Sequence[Any], centres: Sequence[Any], behind: Any, ahead: Any,
               digits: Any, threads: int = 1) -> list[int | None]:
    return _python.verify_batch(keys, codes, centres, behind, ahead, digits)


def _c_verify(keys: Sequence[Any], codes: Sequence[Any], centres: Sequence[Any], behind: Any, ahead: Any,
              digits: Any, threads: int = 1) -> list[int | None]:
    from tokens.hotloop import _checks

    _checks.side(behind, "behind")
    _checks.side(ahead, "ahead")
    return _c.verify_batch(keys, codes, centres, behind, ahead, digits, threads)


def backend_names() -> list[str]:
    names = ["python"]
    if _cloop is not None:
        names.append("c-portable")
        if _cloop.cpu_has_shani():
            names.append("c-shani")
    return names


def make_backend(name: str) -> Backend:
    if name == "python":
        return Backend(name, PythonPreparedKey, _py_verify)
    return Backend(name, _c.CPreparedKey, _c_verify)


@pytest.fixture(params=backend_names())
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    name: str = request.param
    if name == "python":
        yield make_backend(name)
        return
    before = _cloop.implementation()
    _cloop.set_implementation(name.removeprefix("c-"))
    try:
        yield make_backend(name)
    finally:
        _cloop.set_implementation(before)


@pytest.fixture(scope="module")
def all_backends() -> Iterator[list[Backend]]:
    """All backends at once; C ones are switched by the caller through ``use``."""
    yield [make_backend(n) for n in backend_names()]
    if _cloop is not None:
        _cloop.set_implementation("shani" if _cloop.cpu_has_shani() else "portable")


def use(b: Backend) -> None:
    """Select the C hashing code for backend ``b`` (no-op for python)."""
    if b.name != "python":
        _cloop.set_implementation(b.name.removeprefix("c-"))


FORCED_PYTHON = os.environ.get("TOKENSIM_HOTLOOP", "").strip().lower() == "python"
