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
from ..errors import InputError
from .output import console, print_json


@dataclass
class DemoContext:
    home: Path
    clock: ManualClock  # reference time of the demo world
    lines: list[str] | None = None  # --json: what the sections say, as plain text

    def say(self, *objects: Any) -> None:
        if self.lines is None:
            console.print(*objects)
        else:
            from rich.text import Text

            self.lines.append(" ".join(Text.from_markup(o).plain if isinstance(o, str) else str(o)
                                       for o in objects))


Section = tuple[int, str, Callable[[DemoContext], None]]


def sections() -> list[Section]:
    from .main import command_modules

    found: list[Section] = []
    for mod in command_modules():
        found.extend(getattr(mod, "DEMO_SECTIONS", []))
    return sorted(found, key=lambda s: s[0])


def select(todo: list[Section], words: list[str] | None) -> list[Section]:
    """The sections whose title has one of ``words``; an unknown word is an error naming the sections."""
    if not words:
        return todo
    for w in words:
        if not any(w.lower() in title.lower() for _, title, _ in todo):
            names = "; ".join(title for _, title, _ in todo)
            raise InputError(f"no demo section has {w!r} in its title (sections: {names})")
    return [s for s in todo if any(w.lower() in s[1].lower() for w in words)]


def run_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    todo = select(sections(), args.only)
    report: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tokensim-demo-") as tmp:
        home = Path(args.keep) if args.keep else Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        ctx = DemoContext(home=home, clock=ManualClock(1_767_225_600.0))  # 2026-01-01T00:00:00Z
        for _, title, fn in todo:
            if args.json:
                ctx.lines = []
                fn(ctx)
                report.append({"title": title, "lines": ctx.lines})
            else:
                console.print(Rule(title))
                fn(ctx)
    seconds = round(time.monotonic() - started, 1)
    if args.json:
        print_json({"sections": report, "seconds": seconds})
        return 0
    console.print(Rule())
    console.print(f"demo finished in {seconds:.1f} s ({len(todo)} sections)")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("demo", help="an end-to-end tour on the embedded defaults")
    p.add_argument("--keep", metavar="DIR", help="keep the demo's state in DIR instead of a temp dir")
    p.add_argument("--only", nargs="+", metavar="WORD",
                   help="run only sections whose title has WORD (an unknown WORD is an error listing them)")
    p.add_argument("--json", action="store_true",
                   help='one JSON object {"sections": [{"title", "lines"}], "seconds"} instead of the tour')
    p.set_defaults(func=run_demo)
