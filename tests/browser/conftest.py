"""Browser tests: headless Chromium through pytest-playwright (one browser per session, a fresh
context per test).  ``browser_type_launch_args`` comes from tokens.browser: the system Chromium when
Playwright has not downloaded its own, and a loud failure — never a skip — when there is none."""

from __future__ import annotations

from typing import Any

import pytest

from tokens.browser.pytest_fixtures import browser_type_launch_args  # noqa: F401  (overrides pytest-playwright's)

PIN = "246810"


def wait_result(page: Any) -> tuple[bool, str]:
    """The demo RP's #result once something happened: (ok, text)."""
    loc = page.locator("#result[data-ok]")
    loc.wait_for(timeout=15_000)
    return loc.get_attribute("data-ok") == "true", loc.inner_text()


def register(page: Any, url: str, query: str = "user=alice") -> tuple[bool, str]:
    page.goto(f"{url}/webauthn/register?{query}")
    page.click("#register")
    return wait_result(page)


def login(page: Any, url: str, query: str = "user=alice") -> tuple[bool, str]:
    page.goto(f"{url}/webauthn/login?{query}")
    page.click("#login")
    return wait_result(page)


@pytest.fixture
def rp_page(page: Any, demo_rp: Any) -> Any:
    """A page on the demo RP's home page (so page.evaluate runs at its origin)."""
    page.goto(demo_rp.url + "/")
    return page
