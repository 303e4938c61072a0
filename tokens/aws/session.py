"""MFA sessions, aws-mfa style: a code from a stored device → STS temporary credentials.

``get_mfa_session`` calls GetSessionToken (or AssumeRole when a role is given) with the device's
serial number and its current code, and ``session_to_profile`` writes the result into a
credentials-file profile, reusing credentials that are still valid unless ``force`` is set.
Time is an argument (``at=``) everywhere, so tests run on a ManualClock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..virtual import VirtualHOTP, VirtualTOTP
from . import credfile
from .client import AwsClient

SESSION_DURATION = (900, 129_600, 43_200)  # GetSessionToken: min, max, default (seconds)
ROLE_DURATION = (900, 43_200, 3_600)  # AssumeRole
REUSE_MARGIN = 300.0  # credentials expiring sooner than this are renewed


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_mfa_time(t: float) -> str:
    """The zone-less UTC form aws-mfa writes and reads (``2026-01-01 12:00:00``)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_iso(text: str) -> float:
    """ISO 8601 to Unix seconds; a time without a zone is UTC (aws-mfa writes its ``expiration`` so)."""
    try:
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO 8601 time: {text!r}") from None
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class TemporaryCredentials:
    """STS credentials (secret!) and what they were obtained with."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: float  # Unix seconds
    serial_number: str
    role_arn: str | None = None
    reused: bool = False  # taken from the profile instead of a new STS call
    mfa_step: int | None = None  # the TOTP step whose code was sent (None: reused, or HOTP)

    def expires_in(self, at: float) -> float:
        return self.expiration - at

    def to_env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token, "AWS_CREDENTIAL_EXPIRATION": iso(self.expiration)}

    def to_profile(self) -> dict[str, str]:
        """The profile as aws-mfa writes it (``aws_security_token`` too, ``expiration`` zone-less UTC),
        so aws-mfa and tokensim can take turns refreshing the same profile."""
        values = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
                  "aws_session_token": self.session_token, "aws_security_token": self.session_token,
                  "expiration": aws_mfa_time(self.expiration), "tokensim_mfa_serial": self.serial_number}
        if self.role_arn:
            values["tokensim_role_arn"] = self.role_arn
        return values

    @classmethod
    def from_profile(cls, values: dict[str, str]) -> TemporaryCredentials | None:
        """Temporary credentials written by :meth:`to_profile` or by aws-mfa (no ``tokensim_mfa_serial``:
        serial ""), or None when the profile holds no such thing."""
        try:
            token = values.get("aws_session_token") or values["aws_security_token"]
            return cls(values["aws_access_key_id"], values["aws_secret_access_key"], token,
                       parse_iso(values["expiration"]), values.get("tokensim_mfa_serial", ""),
                       values.get("tokensim_role_arn") or None, reused=True)
        except (KeyError, InputError):
            return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["expiration"] = iso(self.expiration)
        del d["mfa_step"]
        return d


def _duration(duration: int | None, role: bool) -> int:
    lo, hi, default = ROLE_DURATION if role else SESSION_DURATION
    d = default if duration is None else int(duration)
    if not lo <= d <= hi:
        what = "AssumeRole" if role else "GetSessionToken"
        raise InputError(f"--duration {d} is outside {lo}-{hi} seconds allowed for {what}")
    return d


def _seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return parse_iso(str(value))


def fresh_code_time(device: VirtualTOTP | VirtualHOTP, at: float, used_step: int | None) -> float:
    """The earliest reference time >= ``at`` at which the device shows a code newer than
    ``used_step`` — verifiers (AWS too) accept each code only once.  ``at`` itself for HOTP."""
    if not isinstance(device, VirtualTOTP) or used_step is None or device.step(at) > used_step:
        return at
    target = device.t0 + (used_step + 1) * device.period  # device time where the next step begins
    t = at
    for _ in range(8):  # the device clock runs at ~1 s/s: a few corrections land past the boundary
        t += max(target - device.device_time(t), 0.0) + 1e-3
        if device.step(t) > used_step:
            return t
    raise InputError("cannot find when the device shows its next code (is its clock stopped?)")


def get_mfa_session(sts: AwsClient, device: VirtualTOTP | VirtualHOTP, serial_number: str, *,
                    duration: int | None = None, role_arn: str | None = None,
                    role_session_name: str | None = None, at: float | None = None) -> TemporaryCredentials:
    """One STS call with the device's code at ``at`` (default: the device's clock now)."""
    if not serial_number:
        raise InputError("an MFA serial number (the device's ARN) is needed")
    step = device.step(at) if isinstance(device, VirtualTOTP) else None
    code = device.code(at=at)
    if role_arn:
        resp = sts.call("AssumeRole", RoleArn=role_arn, RoleSessionName=role_session_name or "tokensim",
                        DurationSeconds=_duration(duration, True), SerialNumber=serial_number,
                        TokenCode=code)
    else:
        resp = sts.call("GetSessionToken", DurationSeconds=_duration(duration, False),
                        SerialNumber=serial_number, TokenCode=code)
    c = resp["Credentials"]
    return TemporaryCredentials(str(c["AccessKeyId"]), str(c["SecretAccessKey"]), str(c["SessionToken"]),
                                _seconds(c["Expiration"]), serial_number, role_arn, mfa_step=step)


def cached_session(profile: str, serial_number: str, *, at: float, role_arn: str | None = None,
                   path: Path | None = None, margin: float = REUSE_MARGIN) -> TemporaryCredentials | None:
    """Still-valid credentials in ``profile`` obtained with the same device (and role), else None."""
    values = credfile.read_profile(profile, path)
    creds = TemporaryCredentials.from_profile(values) if values else None
    if creds is None or creds.serial_number != serial_number or creds.role_arn != (role_arn or None):
        return None
    return creds if creds.expires_in(at) > margin else None


def session_to_profile(sts: AwsClient, device: VirtualTOTP | VirtualHOTP, serial_number: str,
                       profile: str, *, at: float, force: bool = False, path: Path | None = None,
                       duration: int | None = None, role_arn: str | None = None,
                       role_session_name: str | None = None) -> TemporaryCredentials:
    """Ensure ``profile`` holds valid MFA credentials: reuse them, or get and write new ones."""
    credfile.check_writable(profile, path)
    if not force:
        cached = cached_session(profile, serial_number, at=at, role_arn=role_arn, path=path)
        if cached is not None:
            return cached
    creds = get_mfa_session(sts, device, serial_number, duration=duration, role_arn=role_arn,
                            role_session_name=role_session_name, at=at)
    credfile.write_profile(profile, creds.to_profile(), path)
    return creds
