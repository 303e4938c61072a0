"""``tokensim`` entry point: builds the parser from every command module and maps errors to
one-line messages and exit codes (1 = the operation failed, 2 = bad usage, 130 = interrupted).

Command modules are the public modules of this package that define ``register(subparsers)``;
each adds its own sub-command and keeps heavy imports inside its handlers so start-up stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__
from .._imports import prefer_own
from ..errors import TokensimError
from . import output

_NOT_COMMANDS = {"main", "output", "common"}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        output.error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(2)


def command_modules() -> list[Any]:
    from .. import _cli

    mods = []
    for info in sorted(pkgutil.iter_modules(_cli.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _NOT_COMMANDS:
            continue
        mod = importlib.import_module(f"{_cli.__name__}.{info.name}")
        if hasattr(mod, "register"):
            mods.append(mod)
    return mods


def version_string() -> str:
    try:
        from ..hotloop import BACKEND
    except Exception as e:  # the fallback itself failed to import: say so, don't crash
        BACKEND = f"unavailable ({e})"
    return f"tokensim {__version__} (hot loop: {BACKEND})"


def build_parser() -> Parser:
    parser = Parser(prog="tokensim", description="Simulate MFA hardware and verify what it produces.")
    parser.add_argument("--version", action="version", version=version_string())
    parser.add_argument("--home", metavar="DIR",
                        help="state directory (default: $TOKENSIM_HOME or the user data dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for mod in command_modules():
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["TOKENSIM_HOME"] = args.home
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        prefer_own()  # hw/firmware_sim from tokensim's install, never a same-named folder on sys.path
        rc = func(args)
    except TokensimError as e:
        output.error(str(e) or type(e).__name__)
        return 1
    except ImportError as e:  # an optional extra that is not installed, or a shadowing module
        if os.environ.get("TOKENSIM_DEBUG"):
            raise
        from ._hints import import_error_line

        output.error(import_error_line(e))
        return 1
    except KeyboardInterrupt:
        output.error("interrupted")
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug: still one line (TOKENSIM_DEBUG=1 shows the traceback)
        if os.environ.get("TOKENSIM_DEBUG"):
            raise
        output.error(f"internal error: {type(e).__name__}: {e} (set TOKENSIM_DEBUG=1 for a traceback)")
        return 70
    return int(rc or 0)


def run() -> NoReturn:
    raise SystemExit(main())


if __name__ == "__main__":
    run()
