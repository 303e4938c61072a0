from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# shared fixtures that start real servers (PostgreSQL) for the suites that need them
pytest_plugins = ["tests._servers"]

settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the user's real state directory."""
    monkeypatch.setenv("TOKENSIM_HOME", str(tmp_path_factory.mktemp("home")))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device-url", default=None, metavar="URL",
                     help="run tests/device against this (real) device, e.g. fido2-hid: or "
                          "serial:///dev/ttyACM0 (see docs/device-urls.md)")


@pytest.fixture
def device_url(request: pytest.FixtureRequest) -> str:
    """The --device-url given on the command line; tests using it are skipped without one."""
    url = request.config.getoption("--device-url")
    if not url:
        pytest.skip("hardware tests need --device-url URL (see docs/device-urls.md)")
    return str(url)
