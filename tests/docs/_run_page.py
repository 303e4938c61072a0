"""Runs the ```python and ```sh blocks of one docs page, in order (see test_examples.py).

Usage: python _run_page.py BLOCKS.json — a list of {"page", "line", "lang", "code"}; the working
directory, TOKENSIM_HOME and PATH are set by the caller.  Python blocks share one namespace; each
sh block runs in ``bash -e`` in its own process group, which must be empty when the block ends
(a server the block starts in the background is the block's to stop).  On the first failure the
page and line of the block are printed and the exit status is 1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from typing import Any

SH_TIMEOUT = 240.0
GRACE = 5.0  # seconds a block's background processes get to exit after `kill`


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_sh(block: dict[str, Any]) -> str | None:
    script = "set -e\n" + block["code"]
    proc = subprocess.Popen(["bash", "-e", "-c", script, f"{block['page']}:{block['line']}"],
                            start_new_session=True)
    try:
        rc = proc.wait(timeout=SH_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"timed out after {SH_TIMEOUT:.0f} s"
    deadline = time.monotonic() + GRACE
    left = _group_alive(proc.pid)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _group_alive(proc.pid)
    if left:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            left = False
    if rc != 0:
        return f"exit status {rc}"
    if left:
        return "the block left a background process running (stop the servers it starts)"
    return None


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        blocks: list[dict[str, Any]] = json.load(f)
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    for n, block in enumerate(blocks, 1):
        where = f"{block['page']}:{block['line']} ({block['lang']} block {n} of {len(blocks)})"
        print(f"--- {where}", flush=True)
        if block["lang"] == "python":
            # blank lines in front, so tracebacks give the line number in the .md file
            code = compile("\n" * (block["line"] - 1) + block["code"], block["page"], "exec")
            try:
                exec(code, namespace)
            except BaseException:
                traceback.print_exc()
                print(f"FAILED: {where}", flush=True)
                return 1
        else:
            problem = run_sh(block)
            if problem:
                print(f"FAILED: {where}: {problem}", flush=True)
                return 1
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
