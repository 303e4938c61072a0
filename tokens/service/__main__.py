"""``python -m tokens.service [options]``: the same as ``tokensim verifier serve [options]``."""

from __future__ import annotations

import argparse
import sys

from ..errors import TokensimError


def main(argv: list[str] | None = None) -> int:
    from .._cli import output
    from .._cli._verifier_serve import register_serve

    parser = argparse.ArgumentParser(prog="python -m tokens.service")
    sub = parser.add_subparsers(dest="command")
    register_serve(sub)
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    try:
        rc: int = args.func(args)
    except TokensimError as e:
        output.error(str(e) or type(e).__name__)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
