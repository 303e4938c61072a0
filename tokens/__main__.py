"""``python -m tokens``: the ``tokensim`` command."""

import os
import sys
from pathlib import Path

# `python -m` puts the working directory first on sys.path; a user's hw/ or bench/ lying there
# must not stand in for tokensim's packages (the `tokensim` script never had it on the path)
if sys.path and Path(sys.path[0] or os.curdir).resolve() == Path.cwd().resolve() \
        and Path.cwd().resolve() != Path(__file__).resolve().parent.parent:
    del sys.path[0]

from ._cli.main import run

run()
