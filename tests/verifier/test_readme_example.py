"""The README's pytest example — a 40 ppm token, one enrollment, 30 days later — passes as written.

It failed before the window followed the uncertainty (the estimator had no rate after one
enrollment and the ±1 window did not widen with idle time: INVALID).  The block is taken from
README.md itself, so the example cannot rot; a verbatim copy keeps the claim tested if the README
moves the example elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
           if "def test_login_survives_drift(" in b]
if _BLOCKS:  # defines test_login_survives_drift here, collected like any test
    exec(compile(_BLOCKS[0], str(README), "exec"), globals())


def test_readme_example_verbatim(totp_factory: Any, mfa_verifier: Any, mfa_clock: Any) -> None:
    tok = totp_factory(drift_ppm=40)
    mfa_verifier.register("T1", tok.secret)
    assert mfa_verifier.enable("T1", *tok.last(2)).ok
    mfa_clock.advance(30 * 86400)
    assert mfa_verifier.verify("T1", tok.code()).ok


def test_readme_example_is_found() -> None:
    assert _BLOCKS, "README.md no longer has the drift example; keep test_readme_example_verbatim in sync"
