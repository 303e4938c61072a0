"""Where tokensim keeps its state: ``$TOKENSIM_HOME``, else the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home(override: str | os.PathLike[str] | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    env = os.environ.get("TOKENSIM_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("tokensim", appauthor=False))


def devices_file(base: Path | None = None) -> Path:
    return (base or home()) / "devices.json"


def verifier_db(base: Path | None = None) -> Path:
    return (base or home()) / "verifier.sqlite3"
