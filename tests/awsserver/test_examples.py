"""examples/aws: each reference flow, a boto3-only script, runs end to end against a real endpoint.

The server runs in this process on a manual clock; each script is a separate Python process that
knows only the endpoint URL and the administrator's keys (the ready line's), as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokens.awsserver import AwsServer
from tokens.clock import ManualClock

from .conftest import T0

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "aws"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[dict[str, str]]:
    with AwsServer(tmp_path / "aws.sqlite3", clock=ManualClock(T0)) as server:
        info = server.info()
        yield {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": info["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": info["secret_access_key"]}


def test_every_reference_flow_has_an_example() -> None:
    assert SCRIPTS == ["mfa_protected_api.py", "self_manage_mfa.py", "tutorial_force_mfa_ec2.py",
                       "via_aws_service.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_end_to_end(script: str, endpoint: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(endpoint)
    r = subprocess.run([sys.executable, str(EXAMPLES / script)], env=env, cwd=EXAMPLES, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith("PASS"), r.stdout
    assert "FAIL" not in r.stdout
    assert "Traceback" not in r.stderr
