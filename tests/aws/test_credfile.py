"""The shared credentials file: one profile replaced, every other byte kept, 0600, atomic."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tokens.aws import CredentialsFileError, credentials_path, read_profile, write_profile
from tokens.errors import InputError

EXISTING = """# my AWS keys
[default]
aws_access_key_id = AKIALONGTERM
aws_secret_access_key = long/term/secret
region = eu-west-1

[alice-mfa]
aws_access_key_id = ASIAOLD
aws_secret_access_key = old
aws_session_token = old-token
expiration = 2020-01-01T00:00:00Z

; keep me
[other]
aws_access_key_id = AKIAOTHER
aws_secret_access_key = other"""

NEW = {"aws_access_key_id": "ASIANEW", "aws_secret_access_key": "new", "aws_session_token": "tok"}


def test_honours_aws_shared_credentials_file(aws_env: Path) -> None:
    assert credentials_path() == aws_env


def test_new_file_is_created_0600(aws_env: Path) -> None:
    write_profile("alice-mfa", NEW)
    assert stat.S_IMODE(os.stat(aws_env).st_mode) == 0o600
    assert read_profile("alice-mfa") == NEW
    assert read_profile("missing") is None


def test_replacing_a_profile_keeps_every_other_byte(aws_env: Path) -> None:
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(EXISTING)
    os.chmod(aws_env, 0o644)
    write_profile("alice-mfa", NEW)
    text = aws_env.read_text()
    head, rest = EXISTING.split("[alice-mfa]")
    tail = rest[rest.index("; keep me"):]
    assert text.startswith(head) and text.endswith(tail + "\n")
    assert "ASIAOLD" not in text and "old-token" not in text
    assert read_profile("alice-mfa") == NEW
    assert read_profile("default") == {"aws_access_key_id": "AKIALONGTERM",
                                       "aws_secret_access_key": "long/term/secret", "region": "eu-west-1"}
    assert stat.S_IMODE(os.stat(aws_env).st_mode) == 0o600


def test_appending_a_profile_to_a_file_without_final_newline(aws_env: Path) -> None:
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(EXISTING)
    write_profile("bob-mfa", NEW)
    text = aws_env.read_text()
    assert text.startswith(EXISTING + "\n\n[bob-mfa]\n")
    assert read_profile("other") == {"aws_access_key_id": "AKIAOTHER", "aws_secret_access_key": "other"}
    assert read_profile("bob-mfa") == NEW


def test_long_term_keys_are_never_overwritten(aws_env: Path) -> None:
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text(EXISTING)
    with pytest.raises(CredentialsFileError, match=r"\[default\].*long-term keys"):
        write_profile("default", NEW)
    assert aws_env.read_text() == EXISTING


def test_a_file_that_does_not_parse_is_left_alone(aws_env: Path) -> None:
    aws_env.parent.mkdir(parents=True)
    aws_env.write_text("aws_access_key_id = outside any section\n")
    with pytest.raises(CredentialsFileError, match="does not parse"):
        write_profile("alice-mfa", NEW)
    assert aws_env.read_text() == "aws_access_key_id = outside any section\n"


@pytest.mark.parametrize("name", ["", "a b", "x]y", "bad\nname"])
def test_profile_names_are_checked(name: str) -> None:
    with pytest.raises(InputError):
        write_profile(name, NEW)


def test_values_cannot_inject_lines() -> None:
    with pytest.raises(InputError):
        write_profile("p", {"aws_session_token": "x\n[default]"})


# --------------------------------------------------------------------------- aws-mfa interoperability

AWS_MFA_PROFILE = """[default-long-term]
aws_access_key_id = AKIALONGTERM
aws_secret_access_key = secret
aws_mfa_device = arn:aws:iam::123456789012:mfa/alice

[default]
aws_access_key_id = ASIASHORT
aws_secret_access_key = short-secret
aws_session_token = tok
aws_security_token = tok
expiration = 2026-01-01 12:00:00
"""


def test_aws_mfa_zone_less_expiration_is_utc_whatever_the_local_zone(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import time as _time

    from tokens.aws.session import TemporaryCredentials

    path = tmp_path / "credentials"
    path.write_text(AWS_MFA_PROFILE)
    monkeypatch.setenv("TZ", "America/New_York")  # a local zone five hours off UTC
    _time.tzset()
    try:
        values = read_profile("default", path)
        assert values is not None
        creds = TemporaryCredentials.from_profile(values)
        assert creds is not None and creds.expiration == 1_767_268_800.0  # 2026-01-01T12:00:00Z
        assert creds.session_token == "tok" and creds.serial_number == ""
    finally:
        monkeypatch.delenv("TZ")
        _time.tzset()


def test_profiles_are_written_as_aws_mfa_writes_them(tmp_path: Path) -> None:
    from datetime import datetime

    from tokens.aws.session import TemporaryCredentials

    path = tmp_path / "credentials"
    creds = TemporaryCredentials("ASIAX", "s", "tok", 1_767_268_800.0, "arn:aws:iam::123456789012:mfa/alice")
    write_profile("default", creds.to_profile(), path)
    values = read_profile("default", path)
    assert values is not None
    assert values["aws_security_token"] == values["aws_session_token"] == "tok"
    # aws-mfa reads it back with exactly this format, and compares it with utcnow()
    assert datetime.strptime(values["expiration"], "%Y-%m-%d %H:%M:%S") == datetime(2026, 1, 1, 12, 0, 0)
    again = TemporaryCredentials.from_profile(values)
    assert again is not None and again.expiration == creds.expiration
    assert again.serial_number == creds.serial_number
