"""Output helpers shared by CLI commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _default(o: Any) -> Any:
    if isinstance(o, bytes):
        return o.hex()
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "value"):
        return o.value
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default, sort_keys=False) + "\n")
    sys.stdout.flush()


def _print_whole(t: Table) -> None:
    """A table is never cut: on a terminal long cells fold onto the next line (no "…"); into a pipe
    or file the table is as wide as its content, so ARNs, ports and action names stay whole."""
    if console.is_terminal:
        console.print(t)
    else:
        natural = Measurement.get(console, console.options.update_width(1 << 20), t).maximum
        wide = Console(file=console.file, width=max(console.width, natural), highlight=False, soft_wrap=True,
                       color_system=None)
        wide.print(t)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    _print_whole(t)


def kv(data: Mapping[str, Any], title: str | None = None) -> None:
    t = Table(title=title, show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold", overflow="fold")
    t.add_column(overflow="fold")
    for k, v in data.items():
        t.add_row(str(k), "" if v is None else str(v))
    _print_whole(t)


def error(message: str) -> None:
    """One line on stderr, no markup interpretation."""
    line = " ".join(str(message).split())
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()


# -- the one shape of every server's announcements (fido2/sim/aws/verifier serve ...) -----------------
# A line on stdout when the server accepts requests, and one when it has stopped:
#   {"event": "ready", <where: "url" and/or "host"/"port">, <server's own fields>, "pid": N}
#   {"event": "stopped", "signal": "SIGTERM" | "SIGINT" | null, <fields>, "pid": N}
# Scripts wait for the first line (`until [ -s server.jsonl ]`) and read "url" or "port" from it.


def server_ready(fields: Mapping[str, Any]) -> None:
    """Announce that a server accepts requests; ``fields`` say where (url/host/port) and what."""
    print_json({"event": "ready", **{k: v for k, v in fields.items() if k not in ("event", "pid")},
                "pid": os.getpid()})


def signal_name(signum: int | None) -> str | None:
    if signum is None:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def server_stopped(signum: int | None = None, **fields: Any) -> None:
    """Announce that a server has stopped (``signum``: the signal that stopped it, if any)."""
    print_json({"event": "stopped", "signal": signal_name(signum), **fields, "pid": os.getpid()})


def countdown(seconds: float, label: str, *, stream: Any = None, clock: Any = None,
              sleep: Any = None) -> None:
    """Wait ``seconds``, rewriting one stderr line ``label 12 s`` each second (for terminals only:
    callers print one plain line instead when stderr is not a terminal).  ``clock``/``sleep`` are
    injectable for tests (default ``time.monotonic``/``time.sleep``)."""
    import math
    import time

    out = stream or sys.stderr
    now = clock or time.monotonic
    pause = sleep or time.sleep
    end = now() + max(0.0, seconds)
    while (left := end - now()) > 0:
        out.write(f"\r{label} {math.ceil(left):3d} s ")
        out.flush()
        pause(min(1.0, left))
    out.write("\r" + " " * (len(label) + 7) + "\r")
    out.flush()
