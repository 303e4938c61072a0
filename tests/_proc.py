"""A CLI command run as a process for a test: ``running(argv)`` yields the ``Popen`` (text pipes) and
kills the process at the end if the test has not stopped it (a failed assertion never leaves a
server behind)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any


@contextlib.contextmanager
def running(argv: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
