"""Installing tokensim must not break another project: a project root holding its own ``tokens.py``,
``hw/`` and ``bench/`` (names that PyPI distributions also use) runs its tests and the tokensim CLI.

Each scenario runs in a subprocess with the project root as working directory, through the
installed console scripts (``pytest``, ``tokensim``) and ``python -m pytest`` — the ways a user
would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent

DECOY_TOKENS = '''"""The project's own tokens module (API tokens), nothing to do with tokensim."""
KIND = "project"


def issue(user):
    return f"tok-{user}"
'''

TESTS_USING_FIXTURES = '''
import base64

import pyotp


def test_totp_fixture(totp_factory, mfa_clock):
    token = totp_factory()
    assert token.code() == pyotp.TOTP(base64.b32encode(token.secret).decode()).at(mfa_clock.now())


def test_serial_fixture(serial_token):
    import hw
    assert hw.__name__ == "hw" and not hw.__file__.startswith({root!r})
    assert serial_token.info().model.startswith("tokensim")
'''

TEST_OWN_TOKENS = '''
def test_project_module():
    import tokens
    assert tokens.KIND == "project" and tokens.issue("a") == "tok-a"


def test_uses_tokensim(totp_factory):
    totp_factory()
'''


def _project(root: Path) -> Path:
    (root / "tokens.py").write_text(DECOY_TOKENS)
    for pkg in ("hw", "bench"):
        (root / pkg).mkdir()
        decoy = f'raise ImportError("the project\'s own {pkg} got imported")\n'
        (root / pkg / "__init__.py").write_text(decoy)
    return root


def _run(cmd: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["TOKENSIM_HOME"] = str(cwd / ".tokensim-home")
    env["COLUMNS"] = "400"  # pytest short summaries are cut to the terminal width
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_pytest_in_the_project_uses_tokensim_fixtures(tmp_path: Path) -> None:
    """``pytest`` (console script) with tests in tests/: the project's root is not on sys.path,
    so tokensim's fixtures work, and the serial one gets tokensim's hw, not the project's."""
    root = _project(tmp_path)
    (root / "tests").mkdir()
    (root / "tests" / "test_mfa.py").write_text(TESTS_USING_FIXTURES.format(root=str(root)))
    out = _run([str(BIN / "pytest"), "-q", "-p", "no:cacheprovider", "tests"], root)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout
    assert "Error while loading plugin" not in out.stdout + out.stderr


def test_python_m_pytest_where_the_project_tokens_module_wins(tmp_path: Path) -> None:
    """``python -m pytest`` puts the root first on sys.path: the project's tokens.py is what
    ``import tokens`` means there.  The plugin still loads, the project's own test passes, and a
    test that asks for a tokensim fixture fails with one line that says why."""
    root = _project(tmp_path)
    (root / "test_app.py").write_text(TEST_OWN_TOKENS)
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE"], root)
    text = out.stdout + out.stderr
    assert "Error while loading plugin" not in text and "INTERNALERROR" not in text
    assert "1 passed, 1 error" in out.stdout, text
    [line] = [ln for ln in out.stdout.splitlines() if ln.startswith("ERROR ")]
    assert f"this project's own module 'tokens' ({root / 'tokens.py'}) shadows tokensim's 'tokens'" in line
    assert "-p no:tokensim" in line


def test_the_plugin_can_be_switched_off_in_such_a_project(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "test_app.py").write_text(TEST_OWN_TOKENS.split("\n\n\ndef test_uses")[0] + "\n")
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:tokensim"], root)
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout + out.stderr


def test_cli_in_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path)
    tokensim = str(BIN / "tokensim")
    probe = _run([tokensim, "device", "probe", "sim-serial:", "--json"], root)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["model"].startswith("tokensim")
    bench = _run([tokensim, "bench", "--quick", "--scale", "0.005", "--no-suites", "--no-progress", "--json"],
                 root, timeout=300)
    assert bench.returncode == 0, bench.stderr
    assert json.loads(bench.stdout)["batch_verify_per_s"] > 0


def test_library_in_a_directory_with_hw_and_bench(tmp_path: Path) -> None:
    """``python -c`` puts the working directory first on sys.path: open_device("sim-serial:") must
    still use tokensim's hw, and so must ``python -m tokens``."""
    root = _project(tmp_path)
    (root / "tokens.py").unlink()  # a tokens.py here would be `tokens` itself: nothing can help that
    code = ("import sys\nfrom tokens.open import open_device\n"
            "with open_device('sim-serial:') as d:\n"
            "    print(d.info().model)\n"
            "print(sys.modules['hw'].__file__)\n")
    out = _run([sys.executable, "-c", code], root)
    assert out.returncode == 0, out.stderr
    model, hw_file = out.stdout.splitlines()
    assert model.startswith("tokensim") and not hw_file.startswith(str(root))
    via_m = _run([sys.executable, "-m", "tokens", "device", "probe", "sim-serial:", "--json"], root)
    assert via_m.returncode == 0, via_m.stderr


def test_a_shadowing_module_is_reported_as_such_not_as_a_missing_extra(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project's moto.py first on sys.path is 'shadowing', never 'pip install tokensim[demo]';
    a project's hw/ is named as shadowing tokensim's own hw package."""
    import importlib

    from tokens._cli._hints import import_error_line

    (tmp_path / "moto.py").write_text("# the project's own moto helpers\n")
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    monkeypatch.delitem(sys.modules, "moto", raising=False)
    line = import_error_line(ModuleNotFoundError("No module named 'moto.server'", name="moto.server"))
    assert "pip install" not in line and str(tmp_path / "moto.py") in line and "shadowing" in line
    monkeypatch.delitem(sys.modules, "hw", raising=False)
    line = import_error_line(ModuleNotFoundError("No module named 'hw.token'", name="hw.token"))
    assert line.startswith(f"{tmp_path / 'hw' / '__init__.py'} shadows tokensim's own 'hw' package")
