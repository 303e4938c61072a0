"""The worked example in docs/browser.md runs as written, in a separate pytest process that has only
the installed plugins (tokensim's and pytest-playwright's) — like a user's project.  A copy with the
clone made harmless (the original key used twice) must fail: the example really checks the RP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "browser.md"
MARKED = re.compile(r"<!-- worked-example: (\S+) -->\n```python\n(.*?)```", re.S)


def test_worked_example_passes_and_really_checks(pytester: pytest.Pytester) -> None:
    examples = dict(MARKED.findall(DOC.read_text(encoding="utf-8")))
    assert list(examples) == ["test_browser_mfa.py"]
    code = examples["test_browser_mfa.py"]
    assert len(code.splitlines()) <= 40
    broken = code.replace("(webauthn.authenticator, clone)",
                          "(webauthn.authenticator, webauthn.authenticator)")
    assert broken != code
    pytester.makepyfile(test_browser_mfa=code, test_broken_copy=broken)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=240)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_broken_copy.py::test_security_key_and_clone*"])
