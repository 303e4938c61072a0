"""The shared credentials file (``~/.aws/credentials`` or ``$AWS_SHARED_CREDENTIALS_FILE``).

Reading goes through :mod:`configparser` (so a file botocore would reject is rejected here too).
Writing replaces the text of one ``[profile]`` section and leaves every other byte of the file as
it was — other profiles, comments and ordering stay untouched — then lands atomically with mode
0600.  A profile that holds long-term keys (no ``aws_session_token``) is never overwritten.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from pathlib import Path

from .._fileutil import atomic_write
from ..errors import InputError
from .errors import CredentialsFileError

_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$")
_PROFILE_NAME = re.compile(r"[A-Za-z0-9_.@+=,-]{1,128}")


def credentials_path() -> Path:
    env = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
    return Path(env).expanduser() if env else Path.home() / ".aws" / "credentials"


def check_profile_name(name: str) -> str:
    if not _PROFILE_NAME.fullmatch(name or ""):
        raise InputError(f"invalid profile name {name!r}")
    return name


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise CredentialsFileError(f"cannot read credentials file {path}: {e}") from None


def _parse(path: Path, text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(default_section="\0none")  # [default] is an ordinary profile
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as e:
        first = str(e).splitlines()[0]
        raise CredentialsFileError(f"credentials file {path} does not parse: {first}") from None
    return parser


def read_profile(profile: str, path: Path | None = None) -> dict[str, str] | None:
    """The keys of ``[profile]``, or None when there is no such section."""
    p = path or credentials_path()
    parser = _parse(p, _text(p))
    if not parser.has_section(profile):
        return None
    return dict(parser.items(profile))


def profiles(path: Path | None = None) -> list[str]:
    p = path or credentials_path()
    return _parse(p, _text(p)).sections()


def _check_replaceable(parser: configparser.RawConfigParser, profile: str, p: Path) -> None:
    if parser.has_section(profile):
        old = dict(parser.items(profile))
        if old.get("aws_access_key_id") and not old.get("aws_session_token"):
            raise CredentialsFileError(
                f"profile [{profile}] in {p} holds long-term keys; refusing to overwrite them with "
                "temporary credentials (choose another profile name)")


def check_writable(profile: str, path: Path | None = None) -> None:
    """Fail early (before any STS call) if :func:`write_profile` would refuse ``profile``."""
    check_profile_name(profile)
    p = path or credentials_path()
    _check_replaceable(_parse(p, _text(p)), profile, p)


def write_profile(profile: str, values: Mapping[str, str], path: Path | None = None) -> Path:
    """Replace (or append) ``[profile]`` with ``values``; refuses to clobber long-term keys."""
    check_profile_name(profile)
    p = path or credentials_path()
    text = _text(p)
    parser = _parse(p, text)
    _check_replaceable(parser, profile, p)
    for k, v in values.items():
        if "\n" in v or "\r" in v or not re.fullmatch(r"[a-z0-9_]+", k):
            raise InputError(f"cannot write credentials key {k!r}")
    block = [f"[{profile}]\n", *(f"{k} = {v}\n" for k, v in values.items())]
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, ln in enumerate(lines)
                  if (m := _SECTION.match(ln)) and m.group(1) == profile), None)
    if start is None:
        sep = ["\n"] if lines and lines[-1].strip() else []
        lines = [*lines, *sep, *block]
    else:
        end = next((j for j in range(start + 1, len(lines)) if _SECTION.match(lines[j])), len(lines))
        while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip()[0] in "#;"):
            end -= 1  # blank and comment lines before the next header belong to what follows
        rest = lines[end:]
        lines = [*lines[:start], *block, *(["\n"] if rest and rest[0].strip() else []), *rest]
    out = "".join(lines)
    _parse(p, out)  # never write a file that no longer parses
    atomic_write(p, out, mode=0o600)
    return p
