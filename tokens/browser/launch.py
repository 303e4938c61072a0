"""Which Chromium to launch: Playwright's own download when there is one, else the system's.

Order: ``$TOKENSIM_CHROMIUM`` (a path), Playwright's downloaded Chromium (``playwright install``;
then no ``executable_path`` is needed), the distribution's package (``chromium``,
``chromium-browser``, ``google-chrome``).  Debian's ``chromium`` works with Playwright's Chromium
protocol; Debian's ``firefox-esr`` does not speak Playwright's patched-Firefox protocol (juggler).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .errors import BrowserUnavailableError

ENV = "TOKENSIM_CHROMIUM"
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _playwright_download() -> Path | None:
    base = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    for pattern in ("chromium-*/chrome-linux*/chrome",
                    "chromium_headless_shell-*/chrome-linux*/headless_shell"):
        found = sorted(base.glob(pattern))
        if found:
            return found[-1]
    return None


def chromium_executable() -> str | None:
    """The Chromium to pass as ``executable_path`` (None: Playwright's own download is there).

    Raises :class:`BrowserUnavailableError` when there is no Chromium at all."""
    env = os.environ.get(ENV)
    if env:
        if not os.access(env, os.X_OK):
            raise BrowserUnavailableError(f"${ENV}={env} is not an executable")
        return env
    if _playwright_download() is not None:
        return None
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserUnavailableError("no Chromium found: install the distribution's 'chromium' package "
                                  f"(scripts/ensure-services.sh does) or set ${ENV}")


def launch_options(*, headless: bool = True, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``playwright.chromium.launch(...)`` on this machine."""
    opts: dict[str, Any] = {"headless": headless, **extra}
    exe = chromium_executable()
    if exe is not None and "executable_path" not in opts:
        opts["executable_path"] = exe
    return opts
