"""`tokensim demo-rp` (ready line, clean stop, the scripted walk), the `make demo` section, and the
demo RP's refusal of bad input (HTTP 400/404 with a message, never a 500)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests._proc import running
from tokens.browser.rp_app import create_app
from tokens.browser.rp_model import RelyingParty

TOKENSIM = [sys.executable, "-m", "tokens"]


def test_demo_rp_prints_ready_and_stops_on_sigint(tmp_path: Path) -> None:
    with running([*TOKENSIM, "demo-rp", "--port", "0"]) as proc:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["event"] == "ready" and ready["url"].startswith("http://localhost:")
        base = f"http://127.0.0.1:{ready['port']}"
        assert httpx.get(f"{base}/healthz").json() == {"ok": True}
        page = httpx.get(f"{base}/totp/enroll?user=bob&qr=svg").text
        assert "<svg id=qr" in page and "Can't scan?" in page
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"  # the common stopped line
    assert "Traceback" not in err


def test_demo_rp_walk_runs_the_tour_headless() -> None:
    res = subprocess.run([*TOKENSIM, "demo-rp", "--walk", "--port", "0"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    steps = [json.loads(line) for line in res.stdout.splitlines()][1:]
    assert [s["event"] for s in steps] == ["step"] * 5
    assert all(s["ok"] for s in steps), steps
    assert "cloned authenticator" in steps[-1]["detail"]


def test_make_demo_browser_section(tmp_path: Path) -> None:
    env = {**os.environ, "TOKENSIM_HOME": str(tmp_path), "COLUMNS": "200"}
    res = subprocess.run([*TOKENSIM, "demo", "--only", "Browser"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("ok  ") == 5 and "FAILED" not in res.stdout
    shot = Path(res.stdout.split("screenshot of the last page: ")[1].split()[0])
    assert shot.read_bytes().startswith(b"\x89PNG")
    shot.unlink()
    shot.parent.rmdir()


def test_demo_rp_bad_port_is_one_line() -> None:
    res = subprocess.run([*TOKENSIM, "demo-rp", "--port", "70000"], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2
    assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1


def test_demo_rp_headed_without_a_display_is_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    res = subprocess.run([*TOKENSIM, "demo-rp", "--headed", "--port", "0"], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 1
    assert res.stderr.strip() == ("error: --headed needs a display "
                                  "(neither DISPLAY nor WAYLAND_DISPLAY is set)")


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(RelyingParty()), raise_server_exceptions=False)


def test_rp_refuses_bad_input(client: TestClient) -> None:
    r = client.post("/api/webauthn/register/begin", content=b"not json")
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = client.post("/api/webauthn/login/finish", json={"ceremony": "nope", "credential": {}})
    assert r.status_code == 400 and "ceremony" in r.json()["error"]
    r = client.post("/api/webauthn/register/finish", json={"ceremony": "x"})
    assert r.status_code == 400
    r = client.post("/api/webauthn/login/begin", json={"user": "nobody"})
    assert r.status_code == 400 and "no security key" in r.json()["error"]
    r = client.get("/totp/enroll?qr=gif")
    assert r.status_code == 400 and "qr must be one of" in r.text
    r = client.post("/totp/login", content=b"user=alice&code=123456",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "has no TOTP device" in r.text
    assert client.post("/api/webauthn/bogus/begin", json={}).status_code in (404, 405)


def test_rp_finish_with_a_forged_response_is_refused(client: TestClient) -> None:
    begin = client.post("/api/webauthn/register/begin", json={"user": "alice"}).json()
    forged = {"id": "AAAA", "rawId": "AAAA", "type": "public-key",
              "response": {"clientDataJSON": "e30", "attestationObject": "oA"}}
    body = {"ceremony": begin["ceremony"], "credential": forged}
    r = client.post("/api/webauthn/register/finish", json=body)
    assert r.status_code == 400 and r.json()["error"].startswith("registration rejected")
    # the ceremony is used up either way
    r = client.post("/api/webauthn/register/finish", json=body)
    assert r.status_code == 400 and "ceremony" in r.json()["error"]
