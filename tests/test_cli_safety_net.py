"""The CLI's last line of defence: a missing optional extra or a bug is one line, not a traceback."""

from __future__ import annotations

import argparse
import sys

import pytest

from tokens._cli import main as cli


def _run_with(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> int:
    def boom(args: argparse.Namespace) -> int:
        raise exc

    real = cli.build_parser

    def parser() -> cli.Parser:
        p = real()
        p.set_defaults(func=boom)
        return p

    monkeypatch.setattr(cli, "build_parser", parser)
    return cli.main([])


def test_missing_extra_names_the_package_and_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "botocore", None)  # as if the aws extra were not installed
    rc = _run_with(monkeypatch, ModuleNotFoundError("No module named 'botocore'", name="botocore"))
    err = capsys.readouterr().err
    assert rc == 1
    assert err == "error: missing optional dependency botocore (pip install 'tokensim[aws]')\n"


def test_the_hint_names_the_extra_that_provides_the_module(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "playwright", None)  # comes with [browser] (and [demo], [dev])
    assert _run_with(monkeypatch, ModuleNotFoundError("No module named 'playwright'", name="playwright")) == 1
    err = capsys.readouterr().err
    assert err == "error: missing optional dependency playwright (pip install 'tokensim[browser]')\n"


def test_a_module_that_exists_is_never_reported_missing(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """An ImportError for a module that is there (shadowed, broken) gets no install hint."""
    rc = _run_with(monkeypatch, ImportError("cannot import name 'Session' from 'boto3'", name="boto3"))
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1
    assert "pip install" not in err and "shadowing" in err and "boto3" in err


def test_unexpected_exception_is_one_line_with_exit_70(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TOKENSIM_DEBUG", raising=False)
    rc = _run_with(monkeypatch, RuntimeError("kaboom\nsecond line"))
    err = capsys.readouterr().err
    assert rc == 70 and err.count("\n") == 1
    assert err.startswith("error: internal error: RuntimeError: kaboom second line")


def test_debug_env_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSIM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        _run_with(monkeypatch, RuntimeError("kaboom"))
