"""The worked example in docs/pytest.md runs, as written, in a separate pytest session that only
has the installed plugin (no tokensim conftest), through pytest's own ``pytester``."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import zxingcpp  # noqa: F401  - loaded here, so pytester's module snapshot never drops the extension

pytest_plugins = ["pytester"]  # here, not in a conftest: pytest refuses it in non-root conftests

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"
MARKED = re.compile(r"<!-- worked-example: (\S+) -->\n```python\n(.*?)```", re.S)


def doc_examples() -> dict[str, str]:
    return {name: code for name, code in MARKED.findall(DOC.read_text(encoding="utf-8"))}


def doc_snippet(starting_with: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    [block] = [b for b in blocks if b.startswith(starting_with)]
    return str(block)


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("tokensim") == "pytest_tokensim"


def test_worked_example_passes(pytester: pytest.Pytester) -> None:
    examples = doc_examples()
    assert list(examples) == ["test_mfa_example.py"]
    pytester.makepyfile(**{name.removesuffix(".py"): code for name, code in examples.items()})
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5)


def test_worked_example_really_checks_something(pytester: pytest.Pytester) -> None:
    """Break the example's claim (a token 50 ppm fast) and it must fail."""
    code = doc_examples()["test_mfa_example.py"].replace("drift_ppm=50", "drift_ppm=0")
    pytester.makepyfile(test_mfa_example=code)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q", "-k", "serial")
    result.assert_outcomes(passed=0, failed=1, deselected=4)


def test_policy_override_from_the_docs(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(doc_snippet("import pytest\nfrom tokens.verifier import Policy"))
    pytester.makepyfile(test_policy="""
        from tokens.verifier import Status

        def test_override(mfa_verifier, totp_factory, mfa_clock):
            assert mfa_verifier.policy.look_ahead == 0 and mfa_verifier.policy.throttle_after == 5
            token = totp_factory(offset=30)              # one step fast: outside a zero window
            mfa_verifier.register("bob", token.secret, status=Status.ACTIVE)
            assert mfa_verifier.verify("bob", token.code()).reason.value == "invalid"
            mfa_clock.advance(30)
            assert mfa_verifier.verify("bob", token.consecutive(1, at=mfa_clock.now() - 30)[0]).ok
    """)
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q").assert_outcomes(passed=1)


def test_plugin_can_be_switched_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(mfa_clock):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:tokensim", "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'mfa_clock' not found*"])
