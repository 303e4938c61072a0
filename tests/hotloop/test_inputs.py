"""Bad inputs raise InputError on every backend — never a crash, never another exception."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hotloop.conftest import Backend, make_backend
from tokens.errors import InputError

KEY = b"12345678901234567890"
BAD_DIGITS = [5, 9, 0, -6, "6", 6.0, True, None]
FULLWIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"  # str.isdigit() is true for these
BAD_CODES = ["12345a", "12345", "1234567", 123456, b"123456", FULLWIDTH, " 23456", "", None, ["123456"]]
BAD_COUNTERS = [-1, 2**64, 1.5, "1", True, None]


@pytest.mark.parametrize("digits", BAD_DIGITS, ids=repr)
def test_bad_digits(backend: Backend, digits: Any) -> None:
    k = backend.key(KEY, "SHA1")
    with pytest.raises(InputError):
        k.code(1, digits)
    with pytest.raises(InputError):
        k.codes(1, 2, digits)
    with pytest.raises(InputError):
        k.scan("123456", 1, 2, digits)
    with pytest.raises(InputError):
        backend.verify([k], ["123456"], [1], 1, 1, digits)
    with pytest.raises(InputError):
        backend.verify([k], ["123456"], [1], 1, 1, [digits])


@pytest.mark.parametrize("code", BAD_CODES, ids=repr)
def test_bad_codes(backend: Backend, code: Any) -> None:
    k = backend.key(KEY, "SHA1")
    with pytest.raises(InputError):
        k.scan(code, 0, 3, 6)
    with pytest.raises(InputError, match="item 1"):
        backend.verify([k, k], ["755224", code], [0, 0], 1, 1, 6)


@pytest.mark.parametrize("counter", BAD_COUNTERS, ids=repr)
def test_bad_counters(backend: Backend, counter: Any) -> None:
    k = backend.key(KEY, "SHA1")
    with pytest.raises(InputError):
        k.code(counter, 6)
    with pytest.raises(InputError):
        k.codes(counter, 1, 6)
    with pytest.raises(InputError):
        k.codes(0, counter, 6)
    with pytest.raises(InputError):
        k.scan("755224", counter, 1, 6)
    with pytest.raises(InputError):
        backend.verify([k], ["755224"], [counter], 1, 1, 6)
    with pytest.raises(InputError):
        backend.verify([k], ["755224"], [0], counter, 1, 6)


def test_windows_past_the_top_counter(backend: Backend) -> None:
    k = backend.key(KEY, "SHA1")
    top = 2**64 - 1
    assert len(k.codes(top, 1, 6)) == 1
    assert k.codes(top, 0, 6) == []
    with pytest.raises(InputError):
        k.codes(top, 2, 6)
    with pytest.raises(InputError):
        k.scan("755224", top - 1, 3, 6)
    with pytest.raises(InputError):
        backend.verify([k], ["755224"], [0], 2**23, 1, 6)
    with pytest.raises(InputError):
        k.scan("755224", 0, 2**24 + 1, 6)


def test_bad_keys_and_batches(backend: Backend) -> None:
    with pytest.raises(InputError):
        backend.key("not bytes", "SHA1")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        backend.key(KEY, "MD5")
    k = backend.key(KEY, "SHA1")
    other = make_backend("c-portable" if backend.name == "python" else "python").key(KEY, "SHA1")
    with pytest.raises(InputError, match="length"):
        backend.verify([k, k], ["755224"], [0, 0], 1, 1, 6)
    with pytest.raises(InputError, match="length"):
        backend.verify([k], ["755224"], [0], 1, 1, [6, 6])
    with pytest.raises(InputError):
        backend.verify([k], "755224", [0], 1, 1, 6)
    with pytest.raises(InputError):
        backend.verify(k, ["755224"], [0], 1, 1, 6)
    with pytest.raises(InputError, match="item 0"):
        backend.verify([other], ["755224"], [0], 1, 1, 6)
    with pytest.raises(InputError, match="item 0"):
        backend.verify(["key"], ["755224"], [0], 1, 1, 6)
    assert backend.verify((k for _ in range(1)), iter(["755224"]), (0,), 1, 1, 6) == [0]


junk = st.one_of(st.none(), st.booleans(), st.integers(-10, 1000), st.integers(2**24 + 1, 2**70),
                 st.integers(-2**70, -1), st.floats(), st.text(max_size=9),
                 st.binary(max_size=9), st.lists(st.integers(0, 9), max_size=3),
                 st.sampled_from(["123456", "0000000", "12345678", 6, 7, 8, 0, 2**64 - 1]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(junk, min_size=4, max_size=4))
def test_fuzzed_arguments_never_crash(args: list[Any]) -> None:
    for name in ("python", "c-portable"):
        try:
            b = make_backend(name)
        except Exception:  # extension absent
            continue
        k = b.key(KEY, "SHA512")
        calls: list[tuple[Any, tuple[Any, ...]]] = [
            (k.code, (args[0], args[1])), (k.codes, (args[0], args[1], args[2])), (k.scan, tuple(args)),
            (b.verify, ([k], [args[0]], [args[1]], args[2], args[3], 6)),
            (b.verify, ([k], args[0], args[1], 1, 1, args[2])),
        ]
        for fn, fn_args in calls:
            try:
                fn(*fn_args)
            except InputError:
                pass
