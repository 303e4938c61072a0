"""python-fido2's own device tests (its sdist's tests/device) against ``tokensim fido2 serve``.

The sdist matching the installed fido2 is downloaded once into pytest's cache; its suite runs in a
subprocess with :mod:`tests.fido2.device_suite.tokensim_fido2_shim`, which makes python-fido2's HID
discovery find the UDP server, and with ``--controller`` pointed at serve's control channel (the suite
unplugs and replugs the key through it around factory resets).  Skips are the suite's own, decided
from getInfo (features tokensim does not offer); no test is deselected.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

import pytest

SHIM_DIR = Path(__file__).parent / "device_suite"
ROOT = Path(__file__).resolve().parents[2]
EP_RP_ID = "enterprise.example"  # vendor-facilitated enterprise attestation (the suite's --ep-rp-id)


def _sdist(cache: Path) -> Path:
    version = dist_version("fido2")
    tree = cache / f"fido2-{version}"
    if (tree / "tests" / "device" / "conftest.py").exists():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"fido2-{version}.tar.gz"
    if not archive.exists():
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
                            ":all:", f"fido2=={version}", "-d", str(cache)],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0 or not archive.exists():
            pytest.skip(f"cannot download the fido2 {version} sdist: {r.stderr.strip()[-300:]}")
    with tarfile.open(archive) as tf:
        tf.extractall(cache, filter="data")
    return tree


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "TOKENSIM_HOME": str(home)}
    cli = [sys.executable, "-m", "tokens._cli.main", "fido2"]
    subprocess.run([*cli, "new", "dev", "--attestation", "batch", "--ep-rp-id", EP_RP_ID], check=True,
                   env=env,
                   capture_output=True, timeout=60)
    proc = subprocess.Popen([*cli, "serve", "dev", "--port", "0", "--reply-port", "0",
                             "--control-port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield ready
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_python_fido2_device_suite_passes_against_serve(served: dict[str, Any],
                                                        request: pytest.FixtureRequest) -> None:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    home_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    tree = _sdist(Path(cache.mkdir("python-fido2-sdist")) if cache is not None else
                  home_cache / "tokensim" / "python-fido2-sdist")
    env = {**os.environ, "TOKENSIM_FIDO2_UDP": f"{served['host']}:{served['port']}",
           "PYTHONPATH": os.pathsep.join([str(SHIM_DIR), str(ROOT)])}
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "tokensim_fido2_shim", "-p",
                        "no:cacheprovider", "--controller", served["control_url"], "--pico-port", "1",
                        "--ep-rp-id", EP_RP_ID, "tests/device", "-q", "-rfE"], cwd=tree, env=env,
                       capture_output=True, text=True, timeout=1200)
    summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr
    print(f"python-fido2 {dist_version('fido2')} device tests: {summary}")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))  # type: ignore[union-attr]
    assert passed >= 73 and "failed" not in summary and "error" not in summary
