"""The "In your own tests" example of docs/aws.md runs as written, through pytester."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).resolve().parents[2] / "docs" / "aws.md"
MARKED = re.compile(r"<!-- worked-example: (\S+) -->\n```python\n(.*?)```", re.S)


def test_aws_docs_example_passes(pytester: pytest.Pytester, moto_url: str) -> None:
    examples = dict(MARKED.findall(DOC.read_text(encoding="utf-8")))
    assert list(examples) == ["test_aws_mfa.py"]
    pytester.makepyfile(test_aws_mfa=examples["test_aws_mfa.py"])
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q").assert_outcomes(passed=1)


def test_aws_docs_example_fails_on_the_wrong_codes(pytester: pytest.Pytester, moto_url: str) -> None:
    code = dict(MARKED.findall(DOC.read_text(encoding="utf-8")))["test_aws_mfa.py"]
    pytester.makepyfile(test_aws_mfa=code.replace("app.at(now - 30)", "app.at(now + 30)"))
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q").assert_outcomes(failed=1)
