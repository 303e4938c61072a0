"""``tokensim demo``: an end-to-end tour on the embedded defaults.

Every command module may contribute sections through a module-level ``DEMO_SECTIONS`` list of
``(order, title, function)``; each function takes a :class:`DemoContext`.  The demo runs in a
throw-away state directory unless ``--keep DIR`` is given, so it never touches the user's devices.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.rule import Rule

from ..clock import ManualClock
from .output import console


@dataclass
class DemoContext:
    home: Path
    clock: ManualClock  # reference time of the demo world

    def say(self, *objects: Any) -> None:
        console.print(*objects)


Section = tuple[int, str, Callable[[DemoContext], None]]


def sections() -> list[Section]:
    from .main import command_modules

    found: list[Section] = []
    for mod in command_modules():
        found.extend(getattr(mod, "DEMO_SECTIONS", []))
    return sorted(found, key=lambda s: s[0])


def run_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tokensim-demo-") as tmp:
        home = Path(args.keep) if args.keep else Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        ctx = DemoContext(home=home, clock=ManualClock(1_767_225_600.0))  # 2026-01-01T00:00:00Z
        todo = sections()
        if args.only:
            todo = [s for s in todo if any(w.lower() in s[1].lower() for w in args.only)]
        for _, title, fn in todo:
            console.print(Rule(title))
            fn(ctx)
    console.print(Rule())
    console.print(f"demo finished in {time.monotonic() - started:.1f} s ({len(todo)} sections)")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("demo", help="an end-to-end tour on the embedded defaults")
    p.add_argument("--keep", metavar="DIR", help="keep the demo's state in DIR instead of a temp dir")
    p.add_argument("--only", nargs="+", metavar="WORD", help="run only sections whose title has WORD")
    p.set_defaults(func=run_demo)
