"""Output helpers shared by CLI commands: JSON for scripts, rich tables for people."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
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


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console.print(t)


def kv(data: Mapping[str, Any], title: str | None = None) -> None:
    t = Table(title=title, show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for k, v in data.items():
        t.add_row(str(k), "" if v is None else str(v))
    console.print(t)


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
