"""``tokensim aws``: IAM virtual-MFA enrollment and MFA sessions (needs the ``tokensim[aws]`` extra).

    tokensim aws enroll  --user U [--device-name NAME]      CreateVirtualMFADevice + EnableMFADevice
    tokensim aws session --device NAME --write-profile P    STS GetSessionToken / AssumeRole with MFA
    tokensim aws disable --device NAME [--user U]           DeactivateMFADevice + DeleteVirtualMFADevice
    tokensim aws list    [--user U]

boto3 is imported only when a command talks to AWS, so ``tokensim --help`` works without it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import output
from .common import add_json, positive_float, positive_int

if TYPE_CHECKING:
    from ..aws import AwsSession
    from .demo import DemoContext






def _add_connection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("AWS connection")
    g.add_argument("--endpoint-url", metavar="URL", help="AWS API endpoint (e.g. a moto server)")
    g.add_argument("--profile", metavar="P", help="profile with long-term credentials (default chain)")
    g.add_argument("--region", metavar="R", help="region (default: the profile's, else us-east-1)")
    g.add_argument("--max-attempts", type=positive_int, default=3, metavar="N",
                   help="botocore attempts per call, retries included (default 3)")
    g.add_argument("--connect-timeout", type=positive_float, default=5.0, metavar="S",
                   help="seconds to wait for a connection (default 5)")


def _session(args: argparse.Namespace) -> AwsSession:
    from ..aws import AwsOptions, AwsSession

    return AwsSession(AwsOptions(endpoint_url=args.endpoint_url, profile=args.profile, region=args.region,
                                 max_attempts=args.max_attempts, connect_timeout=args.connect_timeout))


def _when(t: float | None) -> str:
    from ..aws.session import iso

    return iso(t) if t is not None else ""


# --------------------------------------------------------------------------- handlers


def cmd_enroll(args: argparse.Namespace) -> int:
    from ..aws import enroll_virtual_mfa
    from ..store import DeviceStore

    result = enroll_virtual_mfa(_session(args).iam, args.user, store=DeviceStore(),
                                name=args.device_name, path=args.path, qr_check=args.qr_check)
    if args.json:
        output.print_json(result)
    else:
        output.kv({"device": result.name, "user": result.user, "serial number": result.serial_number,
                   "QR code": "decoded, matches the seed" if result.qr_verified else "not checked",
                   "enabled at": _when(result.enabled_at)}, title="virtual MFA device enabled")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    from ..aws import disable_virtual_mfa
    from ..store import DeviceStore

    result = disable_virtual_mfa(_session(args).iam, args.device, store=DeviceStore(), user=args.user)
    if args.json:
        output.print_json(result)
    else:
        print(f"disabled {result.serial_number} for {result.user} and removed local device {result.name}"
              + ("" if result.deactivated else " (it was not enabled)")
              + ("" if result.deleted else " (it was already deleted remotely)"))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ..aws import list_virtual_mfa
    from ..store import DeviceStore

    devices = list_virtual_mfa(_session(args).iam, store=DeviceStore(), user=args.user)
    if args.json:
        output.print_json({"devices": devices})
    elif not devices:
        print("no MFA devices" + (f" for {args.user}" if args.user else ""))
    else:
        output.table(["serial number", "user", "enabled", "local device"],
                     [[d.serial_number, d.user or "(unassigned)", _when(d.enabled), d.local_name or ""]
                      for d in devices])
    return 0


def _sleep_with_note(seconds: float) -> None:
    """Wait for the next TOTP step; on a terminal a countdown on stderr shows how long is left."""
    import sys

    if not sys.stderr.isatty():
        output.err_console.print(f"waiting {seconds:.0f} s for a fresh code (the current one was "
                                 "already used)")
        time.sleep(seconds)
        return
    output.countdown(seconds, "fresh code (the current one was already used) in")


def cmd_session(args: argparse.Namespace) -> int:
    from ..aws.credfile import credentials_path
    from ..aws.stored import CodeAlreadyUsedError, device_session
    from ..errors import InputError
    from ..store import DeviceStore

    source = args.profile or os.environ.get("AWS_PROFILE")
    if args.write_profile and source and args.write_profile == source:
        raise InputError(f"--write-profile {args.write_profile} would overwrite the long-term "
                         "credentials it is called with; choose another name")
    if args.role_session_name and not args.role_arn:
        raise InputError("--role-session-name needs --role-arn")
    store = DeviceStore()
    if not args.serial_number:
        from ..aws import aws_meta

        aws_meta(store, args.device)  # fail on a device without a serial number before anything else
    sts = _session(args).sts  # profile/credential-file problems show before any waiting
    now = time.time()
    try:
        creds = device_session(sts, store, args.device, at=now, serial_number=args.serial_number,
                               write_profile=args.write_profile, force=args.force,
                               wait=None if args.no_wait else _sleep_with_note, duration=args.duration,
                               role_arn=args.role_arn, role_session_name=args.role_session_name)
    except CodeAlreadyUsedError as e:
        raise InputError(f"{e} (run again then, or without --no-wait)") from None
    if args.env:
        for k, v in creds.to_env().items():
            print(f"export {k}={shlex.quote(v)}")
    elif args.json:
        output.print_json(creds)
    else:
        left = int(creds.expires_in(now) // 60)
        how = "reused valid credentials" if creds.reused else "wrote new MFA session credentials"
        print(f"profile [{args.write_profile}] in {credentials_path()}: {how}, expiring "
              f"{_when(creds.expiration)} (in {left} min)")
    return 0


# --------------------------------------------------------------------------- parser


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("aws", help="AWS IAM virtual MFA: enroll, session, disable, list (tokensim[aws])")
    aws_sub = p.add_subparsers(dest="aws_command", metavar="ACTION", required=True)

    e = aws_sub.add_parser("enroll", help="create, store and enable a virtual MFA device for an IAM user")
    e.add_argument("--user", required=True, metavar="U", help="IAM user name")
    e.add_argument("--device-name", metavar="NAME", help="virtual MFA device and local device name "
                   "(default: the user name)")
    e.add_argument("--path", default="/", help="IAM path of the device (default /)")
    e.add_argument("--qr-check", choices=["require", "if-png", "skip"], default="require",
                   help="check QRCodePNG against the seed: require (AWS), if-png (moto sends no PNG), skip")
    _add_connection(e)
    add_json(e)
    e.set_defaults(func=cmd_enroll)

    s = aws_sub.add_parser("session", help="MFA session credentials from STS (aws-mfa style)")
    s.add_argument("--device", required=True, metavar="NAME", help="stored device (from 'aws enroll')")
    s.add_argument("--serial-number", metavar="ARN", help="MFA serial number (default: stored with NAME)")
    s.add_argument("--duration", type=positive_int, metavar="S",
                   help="seconds (GetSessionToken 900-129600, default 43200; AssumeRole 900-43200)")
    out = s.add_mutually_exclusive_group(required=True)
    out.add_argument("--write-profile", metavar="P", help="write into profile P of the credentials file")
    out.add_argument("--env", action="store_true", help="print shell export lines (contain secrets)")
    out.add_argument("--json", action="store_true", help="print the credentials as JSON (contains secrets)")
    s.add_argument("--force", action="store_true", help="get new credentials even if P's are still valid")
    s.add_argument("--no-wait", action="store_true",
                   help="fail instead of waiting (up to one period) when the current code was already used")
    s.add_argument("--role-arn", metavar="ARN", help="AssumeRole with MFA instead of GetSessionToken")
    s.add_argument("--role-session-name", metavar="N", help="role session name (default tokensim)")
    _add_connection(s)
    s.set_defaults(func=cmd_session)

    d = aws_sub.add_parser("disable", help="deactivate and delete a virtual MFA device, forget it locally")
    d.add_argument("--device", required=True, metavar="NAME", help="stored device name")
    d.add_argument("--user", metavar="U", help="IAM user (default: the one it was enrolled for)")
    _add_connection(d)
    add_json(d)
    d.set_defaults(func=cmd_disable)

    ls = aws_sub.add_parser("list", help="virtual MFA devices of the account (or of one user)")
    ls.add_argument("--user", metavar="U", help="only this user's MFA devices")
    _add_connection(ls)
    add_json(ls)
    ls.set_defaults(func=cmd_list)

    # `tokensim aws serve` lives in another module; it is optional
    try:
        from ._aws_serve import register_serve  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        pass
    else:
        register_serve(aws_sub)


# --------------------------------------------------------------------------- demo


@contextlib.contextmanager
def _environ(**values: str | None) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block, then restore them."""
    old = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _demo(ctx: DemoContext) -> None:
    try:
        import boto3  # noqa: F401
        from moto.server import ThreadedMotoServer
    except ImportError:
        ctx.say("boto3/moto not installed (pip install 'tokensim[demo]'): AWS section skipped")
        return
    import logging
    import urllib.request

    import pyotp
    from rich.markup import escape

    from ..aws import (
        AwsOptions,
        AwsSession,
        disable_virtual_mfa,
        enroll_virtual_mfa,
        read_profile,
        session_to_profile,
    )
    from ..otp import encode_secret
    from ..store import DeviceStore

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    creds_file = ctx.home / "aws-credentials"
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        # moto keeps its state per process: start from an empty account even if something ran before
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", data=b"", method="POST"),
                               timeout=10).close()
        # the demo's own AWS world: none of the user's profiles, keys or endpoints leak in
        with _environ(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN=None,
                      AWS_PROFILE=None, AWS_DEFAULT_PROFILE=None, AWS_ENDPOINT_URL=None,
                      AWS_ENDPOINT_URL_IAM=None, AWS_ENDPOINT_URL_STS=None,
                      AWS_SHARED_CREDENTIALS_FILE=str(creds_file),
                      AWS_CONFIG_FILE=str(ctx.home / "aws-config")):
            ctx.say(f"moto server (a local AWS API) on {url}; IAM CreateUser alice")
            aws = AwsSession(AwsOptions(endpoint_url=url, region="us-east-1", max_attempts=1))
            aws.iam.call("CreateUser", UserName="alice")
            store = DeviceStore(ctx.home / "devices.json")
            sent: list[str] = []

            def capture(params: dict[str, Any], **_: Any) -> None:
                sent.extend([params["AuthenticationCode1"], params["AuthenticationCode2"]])

            aws.iam.raw.meta.events.register("provide-client-params.iam.EnableMFADevice", capture)
            now = time.time()
            enrolled = enroll_virtual_mfa(aws.iam, "alice", store=store, qr_check="if-png", at=now)
            totp = pyotp.TOTP(encode_secret(store.get("alice").secret))
            ok = sent == [totp.at(now - 30), totp.at(now)]
            ctx.say(f"tokensim aws enroll --user alice → {enrolled.serial_number}")
            ctx.say(f"  EnableMFADevice got {sent[0]} and {sent[1]} at once, no 30 s wait (the last two "
                    f"codes; pyotp agrees: {ok}); the seed is stored as device 'alice'")
            # 30 s later (a fresh code: the one just used for EnableMFADevice would be refused by AWS)
            creds = session_to_profile(aws.sts, store.get("alice"), enrolled.serial_number, "alice-mfa",
                                       at=now + 30)
            again = session_to_profile(aws.sts, store.get("alice"), enrolled.serial_number, "alice-mfa",
                                       at=now + 90)
            ctx.say("30 s later: tokensim aws session --device alice --write-profile alice-mfa "
                    "→ STS GetSessionToken")
            profile = read_profile("alice-mfa", creds_file) or {}
            mode = creds_file.stat().st_mode & 0o777
            ctx.say(escape(f"  [alice-mfa] in {creds_file.name} (mode {mode:04o}):"))
            for k, v in profile.items():
                shown = v if k in ("expiration", "tokensim_mfa_serial") else v[:4] + "…"
                ctx.say(f"    {k} = {shown}")
            ctx.say(f"  a second run reuses them until {_when(creds.expiration)}: {again.reused}")
            gone = disable_virtual_mfa(aws.iam, "alice", store=store)
            ctx.say(f"tokensim aws disable --device alice → deactivated {gone.deactivated}, "
                    f"deleted {gone.deleted}; local devices left: {store.names()}")
    finally:
        server.stop()


DEMO_SECTIONS = [(50, "AWS: virtual MFA enrollment and an MFA session against a local moto server", _demo)]
