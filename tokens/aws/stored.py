"""MFA sessions for a device in the tokensim store: what ``tokensim aws session`` does.

    creds = device_session(aws.sts, store, "alice", at=time.time(), write_profile="alice-mfa",
                           wait=time.sleep)

Reuses still-valid credentials in the profile (no code needed); otherwise sends the device's code
— never one it already sent: AWS accepts each MFA code once, the second EnableMFADevice code
included, so the step last used is kept in the device's metadata and, when the current code is
that one, ``wait`` is called for the seconds until the next (``mfa_clock.advance`` in tests,
``time.sleep`` in the CLI, None to raise :class:`CodeAlreadyUsedError`).  HOTP counters that move
are saved back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store import DeviceStore
from . import credfile
from .client import AwsClient
from .enroll import META_KEY, aws_meta
from .session import TemporaryCredentials, cached_session, fresh_code_time, get_mfa_session


class CodeAlreadyUsedError(InputError):
    """The device's current code was sent before; a fresh one appears in ``wait`` seconds."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        super().__init__(f"the device's current code was already used; a fresh one appears in {wait:.0f} s")


def device_session(sts: AwsClient, store: DeviceStore, name: str, *, at: float,
                   serial_number: str | None = None, write_profile: str | None = None,
                   force: bool = False, wait: Callable[[float], object] | None = None,
                   duration: int | None = None, role_arn: str | None = None,
                   role_session_name: str | None = None, path: Path | None = None) -> TemporaryCredentials:
    """STS credentials for stored device ``name`` at reference time ``at`` (see the module doc)."""
    serial = serial_number or str(aws_meta(store, name)["serial_number"])
    if write_profile:
        credfile.check_writable(write_profile, path)
        if not force:
            cached = cached_session(write_profile, serial, at=at, role_arn=role_arn, path=path)
            if cached is not None:
                return cached
    kw: dict[str, Any] = dict(duration=duration, role_arn=role_arn, role_session_name=role_session_name)
    if store.record(name).get("type") == "hotp":
        with store.using(name) as hotp:  # the counter that moved is saved back
            creds = get_mfa_session(sts, hotp, serial, at=at, **kw)
    else:  # no store lock held while waiting or during the STS call
        device = store.get(name)
        used = (store.meta(name).get(META_KEY) or {}).get("last_step")
        fresh = fresh_code_time(device, at, int(used) if used is not None else None)
        if fresh > at:
            if wait is None:
                raise CodeAlreadyUsedError(fresh - at)
            wait(fresh - at)
        creds = get_mfa_session(sts, device, serial, at=fresh, **kw)
        part = store.meta(name).get(META_KEY) or {}
        store.update_meta(name, **{META_KEY: {**part, "last_step": creds.mfa_step}})
    if write_profile:
        credfile.write_profile(write_profile, creds.to_profile(), path)
    return creds
