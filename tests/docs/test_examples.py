"""Every ```python and ```sh example of README.md and docs/*.md runs, so no docs example can rot.

The convention is written down for docs authors in docs/CONTRIBUTING.md: python and sh fences run
(text/console/json ... never do); per page, in document order, in one fresh process — python blocks
in one namespace, sh blocks in ``bash -e`` — in a temporary working directory with TOKENSIM_HOME
set to another one and ``tokensim`` first on PATH; a block stops the servers it starts; a pytest
example is marked ``<!-- worked-example: test_NAME.py -->`` above its fence and runs through
``python -m pytest`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RUNNER = Path(__file__).with_name("_run_page.py")
BIN = Path(sys.executable).parent

FENCE = re.compile(
    r"^(?:<!-- worked-example: (?P<file>\S+) -->\n)?```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$",
    re.M | re.S)
RUNS = {"python", "sh"}
DEFINES_TESTS = re.compile(r"^(?:async )?def test_", re.M)

# worked examples that fail today for a reason tracked elsewhere (drop the entry once fixed)
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Block:
    page: str  # path relative to the repository
    line: int  # line of the first code line in the page
    lang: str
    code: str
    file: str | None  # worked-example file name (pytest), or None

    def to_json(self) -> dict[str, object]:
        return {"page": self.page, "line": self.line, "lang": self.lang, "code": self.code}


def blocks(page: Path, name: str | None = None) -> list[Block]:
    """The page's runnable blocks; ``name`` is how messages call the page (default: its repo path)."""
    text = page.read_text(encoding="utf-8")
    name = name or str(page.relative_to(REPO))
    return [Block(name, text.count("\n", 0, m.start("body")) + 1, m.group("lang"), m.group("body"),
                  m.group("file")) for m in FENCE.finditer(text) if m.group("lang") in RUNS]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TOKENSIM_", "AWS_", "PYTEST_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TOKENSIM_HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", COLUMNS="200",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def _page_params() -> list[object]:
    return [pytest.param(p, id=str(p.relative_to(REPO)))
            for p in PAGES if any(b.file is None for b in blocks(p))]


def _worked_params() -> list[object]:
    params: list[object] = []
    for p in PAGES:
        for b in blocks(p):
            if b.file and b.file != "conftest.py":
                reason = KNOWN_FAILURES.get((b.page, b.file))
                marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
                params.append(pytest.param(p, b.file, id=f"{b.page}::{b.file}", marks=marks))
    return params


@pytest.mark.parametrize("page", _page_params())
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    """The page's python and sh blocks, in order, in one process (output shown on failure)."""
    todo = [b for b in blocks(page) if b.file is None]
    for b in todo:
        assert not (b.lang == "python" and DEFINES_TESTS.search(b.code)), (
            f"{b.page}:{b.line} defines test_ functions: mark it <!-- worked-example: test_NAME.py -->")
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([b.to_json() for b in todo]), encoding="utf-8")
    out = subprocess.run([sys.executable, str(RUNNER), str(spec)], cwd=work, env=_env(home),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                         check=False)
    assert out.returncode == 0, out.stdout[-8000:]


def run_worked_example(page: Path, file: str, tmp_path: Path, edit: tuple[str, str] | None = None
                       ) -> subprocess.CompletedProcess[str]:
    """Write the page's worked example ``file`` (and the page's conftest.py blocks) into an empty
    directory and run pytest there; ``edit`` replaces a piece of the example first."""
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    mine = [b for b in blocks(page) if b.file in (file, "conftest.py")]
    assert any(b.file == file for b in mine), f"{page.name} has no worked example {file}"
    for b in mine:
        code = b.code if edit is None or b.file != file else b.code.replace(*edit)
        assert edit is None or b.file != file or code != b.code, f"{edit[0]!r} not in {file}"
        (work / str(b.file)).write_text(code, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", file],
                          cwd=work, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600, check=False)


@pytest.mark.parametrize(("page", "file"), _worked_params())
def test_worked_example_passes(page: Path, file: str, tmp_path: Path) -> None:
    out = run_worked_example(page, file, tmp_path)
    assert out.returncode == 0 and " passed" in out.stdout and "failed" not in out.stdout, out.stdout[-8000:]


# ------------------------------------------------------------------ the examples can fail

def test_worked_example_really_checks_something(tmp_path: Path) -> None:
    """Break docs/pytest.md's claim (a token 50 ppm fast) and its example must fail."""
    out = run_worked_example(REPO / "docs" / "pytest.md", "test_mfa_example.py", tmp_path,
                             edit=("drift_ppm=50", "drift_ppm=0"))
    assert out.returncode == 1 and "1 failed" in out.stdout, out.stdout[-4000:]


def test_aws_worked_example_fails_on_the_wrong_codes(tmp_path: Path) -> None:
    out = run_worked_example(REPO / "docs" / "aws.md", "test_aws_mfa.py", tmp_path,
                             edit=("app.at(now - 30)", "app.at(now + 30)"))
    assert out.returncode == 1 and "1 failed" in out.stdout, out.stdout[-4000:]


def test_a_failing_block_fails_the_page_with_its_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("intro\n\n```python\nx = 1\n```\n\n```sh\ntest -f nosuch\necho never\n```\n"
                    "\n```python\nassert x == 2, 'x is 1'\n```\n")
    spec = tmp_path / "b.json"
    found = blocks(page, "page.md")
    assert [(b.lang, b.line) for b in found] == [("python", 4), ("sh", 8), ("python", 13)]
    spec.write_text(json.dumps([found[0].to_json(), found[2].to_json()]))
    out = subprocess.run([sys.executable, str(RUNNER), str(spec)], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1 and 'File "page.md", line 13' in out.stderr and "x is 1" in out.stderr
    spec.write_text(json.dumps([found[1].to_json()]))
    out = subprocess.run([sys.executable, str(RUNNER), str(spec)], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1 and "FAILED: page.md:8 (sh block 1 of 1): exit status 1" in out.stdout


def test_a_block_must_stop_its_servers(tmp_path: Path) -> None:
    spec = tmp_path / "b.json"
    spec.write_text(json.dumps([{"page": "p.md", "line": 1, "lang": "sh", "code": "sleep 60 &\n"}]))
    out = subprocess.run([sys.executable, str(RUNNER), str(spec)], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 1 and "left a background process running" in out.stdout

