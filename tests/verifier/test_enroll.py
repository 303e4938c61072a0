"""The one enrollment routine (tokens.verifier.enroll) and enabling pending credentials, through the
library, the CLI and the HTTP service — all three must agree."""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import pyotp
import pytest

from tokens._cli.main import main
from tokens.clock import ManualClock
from tokens.errors import InvalidURIError
from tokens.otp import Algorithm, encode_secret
from tokens.params import OtpParams
from tokens.uri import parse_otpauth
from tokens.verifier import CredentialExistsError, MemoryStore, Reason, SQLiteStore, Status, Verifier
from tokens.verifier.enroll import enroll

from .conftest import SECRET, START

B32 = encode_secret(SECRET)
REF = pyotp.TOTP(B32)
URI = f"otpauth://totp/ACME:bob?secret={B32}&issuer=ACME"


def _codes(at: float) -> tuple[str, str]:
    return REF.at(at - 30), REF.at(at)


def test_enroll_registers_and_enables() -> None:
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    res = enroll(v, "S1", parse_otpauth(URI), *_codes(START))
    assert res.ok and res.step == int(START // 30)
    cred = v.get("S1")
    assert cred.status is Status.ACTIVE and cred.issuer == "ACME" and cred.account == "bob"


def test_failed_enroll_stays_pending_and_the_same_token_can_retry() -> None:
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    params = OtpParams.totp(SECRET)
    c1, c2 = _codes(START)
    assert enroll(v, "S1", params, c2, c1).reason is Reason.NOT_CONSECUTIVE
    assert v.get("S1").status is Status.PENDING
    assert enroll(v, "S1", params, c1, c2).ok


@pytest.mark.parametrize("other", [
    OtpParams.totp(b"another secret of 20b"),
    OtpParams.totp(SECRET, digits=8),
    OtpParams.totp(SECRET, algorithm=Algorithm.SHA256),
    OtpParams.totp(SECRET, period=60),
    OtpParams.hotp(SECRET),
])
def test_enroll_never_overwrites_a_different_token(other: OtpParams) -> None:
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    v.register("S1", SECRET)  # pending, the original token
    with pytest.raises(CredentialExistsError):
        enroll(v, "S1", other, *_codes(START))
    assert v.get("S1").secret == SECRET and v.get("S1").status is Status.PENDING


def test_enroll_refuses_an_active_credential_even_for_the_same_token() -> None:
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    assert enroll(v, "S1", OtpParams.totp(SECRET), *_codes(START)).ok
    with pytest.raises(CredentialExistsError):
        enroll(v, "S1", OtpParams.totp(SECRET), *_codes(START + 60))


def test_secrets_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    v.register("S1", SECRET)
    assert enroll(v, "S1", OtpParams.totp(SECRET), *_codes(START)).ok
    assert calls == [(SECRET, SECRET)]


@pytest.mark.parametrize("params", [
    OtpParams.totp(SECRET, algorithm=Algorithm.SHA256, digits=8, period=60, t0=15.0, issuer="ACME",
                   account="bob"),
    OtpParams.hotp(SECRET, counter=42, account="alice"),
])
def test_a_registered_credential_gives_back_its_params(params: OtpParams) -> None:
    v = Verifier(MemoryStore(), clock=ManualClock(START))
    v.register("S1", params.secret, **params.register_kwargs())
    assert v.get("S1").params() == params


def test_bad_uri_is_a_typed_error() -> None:
    with pytest.raises(InvalidURIError):
        parse_otpauth("otpauth://[")


# ---------------------------------------------------------------- CLI


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_enable_a_pending_credential(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "v.sqlite3")
    with SQLiteStore(db) as s:
        Verifier(s).register("IMPORTED-1", SECRET, at=START)  # what import-pskc leaves: pending
    c1, c2 = _codes(START + 600)
    rc, out, err = run(capsys, "verifier", "enable", "IMPORTED-1", c1, c2, "--at", str(START + 600),
                       "--db", db)
    assert rc == 0 and "IMPORTED-1 enabled" in out, err
    rc, out, err = run(capsys, "verifier", "check", "IMPORTED-1", REF.at(START + 630), "--at",
                       str(START + 630), "--db", db)
    assert rc == 0 and out.startswith("ok"), err
    rc, out, err = run(capsys, "verifier", "enable", "IMPORTED-1", c1, c2, "--db", db, "--json")
    assert rc == 1 and json.loads(out)["reason"] == "already_active"


def test_cli_enable_wrong_codes_stays_pending(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "v.sqlite3")
    with SQLiteStore(db) as s:
        Verifier(s).register("P1", SECRET, at=START)
    rc, _, err = run(capsys, "verifier", "enable", "P1", "000000", "111111", "--at", str(START), "--db", db)
    assert rc == 1 and "stays pending" in err
    with SQLiteStore(db) as s:
        assert Verifier(s).get("P1").status is Status.PENDING


@pytest.mark.parametrize("command", [["check", "NOPE", "123456"], ["enable", "NOPE", "123456", "654321"],
                                     ["resync", "NOPE", "123456", "654321"]])
def test_cli_unknown_serial_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        command: list[str]) -> None:
    db = tmp_path / "v.sqlite3"
    SQLiteStore(db).close()  # an existing database (a missing one is its own error: read-only commands)
    rc, out, err = run(capsys, "verifier", *command, "--db", str(db))
    assert rc == 1 and out == ""
    assert err == "error: no credential NOPE\n"


# ---------------------------------------------------------------- service


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from tokens.service.app import ServiceConfig, create_app

    cfg = ServiceConfig(db=f"sqlite://{tmp_path / 'v.sqlite3'}", trust_client_time=True)
    with TestClient(create_app(cfg), raise_server_exceptions=False) as c:
        yield c


def test_service_enable_pending_and_unknown(client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with SQLiteStore(tmp_path / "v.sqlite3") as s:
        Verifier(s).register("IMPORTED-2", SECRET, at=START)
    c1, c2 = _codes(START)
    r = client.post("/v1/enable", json={"serial": "IMPORTED-2", "code1": c1, "code2": c2, "at": START})
    assert r.status_code == 200 and r.json()["ok"] and r.json()["credential"]["status"] == "active"
    again = client.post("/v1/enable", json={"serial": "IMPORTED-2", "code1": c1, "code2": c2, "at": START})
    assert again.status_code == 200 and again.json()["reason"] == "already_active"
    r = client.post("/v1/enable", json={"serial": "NOPE", "code1": c1, "code2": c2, "at": START})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "/v1/enable" in client.get("/openapi.json").json()["paths"]


def test_service_enroll_uses_the_same_routine(client) -> None:  # type: ignore[no-untyped-def]
    c1, c2 = _codes(START)
    body = {"serial": "S9", "uri": URI, "code1": c1, "code2": c2, "at": START}
    assert client.post("/v1/enroll", json=body).json()["ok"]
    other = {**body, "uri": URI.replace("period=30", "") + "&digits=8"}
    r = client.post("/v1/enroll", json=other)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    bad = client.post("/v1/enroll", json={**body, "serial": "S10", "uri": "otpauth://["})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
