"""Argument checks shared by both backends, so they refuse the same inputs with the same errors."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ..otp import Algorithm, check_digits

U64_MAX = 2**64 - 1
MAX_WINDOW = 2**24  # counters per scan/codes call (0.6 s of hashing in C)
MAX_SIDE = 2**23 - 1  # steps behind/ahead of a batch item's centre
ALGORITHM_IDS = {Algorithm.SHA1: 0, Algorithm.SHA256: 1, Algorithm.SHA512: 2}
ALGORITHMS = {v: k for k, v in ALGORITHM_IDS.items()}


def key_bytes(key: object) -> bytes:
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InputError(f"a key must be bytes (got {type(key).__name__})")
    return bytes(key)


def u64(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be an int (got {type(value).__name__})")
    if not 0 <= value <= U64_MAX:
        raise InputError(f"{what} must be from 0 to 2**64-1 (got {value!r})")
    return value


def window(start: object, count: object) -> tuple[int, int]:
    s, n = u64(start, "start"), u64(count, "count")
    if n > MAX_WINDOW:
        raise InputError("a window holds at most 2**24 counters")
    if n > 0 and s + n - 1 > U64_MAX:
        raise InputError("counter window runs past 2**64-1")
    return s, n


def code_value(code: object, digits: int) -> int:
    """A code must be a str of exactly ``digits`` ASCII digits; returns its value."""
    if not isinstance(code, str):
        raise InputError(f"a code must be a str (got {type(code).__name__})")
    if len(code) != digits:
        raise InputError(f"a code must have {digits} digits (got {len(code)} characters)")
    if not (code.isascii() and code.isdigit()):
        raise InputError("a code must contain only the digits 0-9")
    return int(code)


def side(value: object, what: str) -> int:
    v = u64(value, what)
    if v > MAX_SIDE:
        raise InputError(f"{what} must be below 2**23 steps")
    return v


def digits_of(value: object) -> int:
    if type(value) is not int:
        raise InputError(f"digits must be 6, 7 or 8 (got {value!r})")
    return check_digits(value)


def sequence(value: object, what: str) -> Sequence[Any]:
    """A list or tuple as is; any other iterable copied into a list (it is read more than once)."""
    if isinstance(value, list | tuple):
        return value
    if isinstance(value, str | bytes | bytearray):
        raise InputError(f"{what} must be a sequence, not a single {type(value).__name__}")
    try:
        items: list[Any] = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise InputError(f"{what} must be a sequence (got {type(value).__name__})") from None
    return items


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    if threads is None or threads == 0:
        return usable_cpus()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
        raise InputError(f"threads must be None, 0 (all CPUs) or 1 to 256 (got {threads!r})")
    return threads
