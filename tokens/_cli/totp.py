"""``tokensim totp``: create, import and read virtual TOTP/HOTP devices."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..clock import DriftModel, ManualClock
from ..errors import InputError
from ..otp import Algorithm, decode_secret, random_secret
from ..virtual import VirtualHOTP, VirtualTOTP, device_from_uri
from . import output
from .common import add_drift_args, add_json, drift_from_args, parse_time

ALGS = [a.value for a in Algorithm]


def _digits(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"digits must be a whole number, not {text!r}") from None
    return v


def _store() -> Any:
    from ..store import DeviceStore

    return DeviceStore()


def cmd_new(args: argparse.Namespace) -> int:
    from ..store import check_name

    check_name(args.name)
    secret = decode_secret(args.secret) if args.secret else random_secret()
    account = args.account or args.name
    if args.hotp:
        dev: VirtualTOTP | VirtualHOTP = VirtualHOTP(
            secret, counter=args.counter, algorithm=args.algorithm, digits=args.digits,
            issuer=args.issuer, account=account)
    else:
        drift = drift_from_args(args, default_epoch=time.time())
        dev = VirtualTOTP(secret, algorithm=args.algorithm, digits=args.digits, period=args.period,
                          issuer=args.issuer, account=account, drift=drift)
    _store().add(args.name, dev)
    uri = dev.uri()
    if args.qr:
        from ..qr import write_qr_png

        write_qr_png(uri, args.qr)
    if args.json:
        output.print_json({"name": args.name, "serial": dev.identity, "uri": uri,
                           "kind": dev.kind.value, "qr": args.qr})
    else:
        print(uri)
        if args.qr_terminal:
            from ..qr import qr_terminal

            print(qr_terminal(uri))
    return 0


def _device_for_code(args: argparse.Namespace, at: float) -> tuple[VirtualTOTP | VirtualHOTP, str | None]:
    ref = ManualClock(at)
    if args.uri:
        return device_from_uri(args.uri, reference=ref), None
    if args.secret:
        return VirtualTOTP(decode_secret(args.secret), algorithm=args.algorithm or "SHA1",
                           digits=args.digits or 6, period=args.period or 30, drift=DriftModel(),
                           reference=ref), None
    if not args.name:
        raise InputError("give a device NAME, --uri URI or --secret BASE32")
    from ..store import DeviceStore

    store = DeviceStore(reference=ref)
    return store.get(args.name), args.name


def cmd_code(args: argparse.Namespace) -> int:
    if sum(bool(x) for x in (args.name, args.uri, args.secret, args.device)) != 1:
        raise InputError("give exactly one of NAME, --uri URI, --secret BASE32 or --device URL")
    if (args.algorithm or args.digits or args.period) and not args.secret:
        raise InputError("--algorithm/--digits/--period go with --secret (a device or URI has its own)")
    if args.count < 1 or args.count > 1000:
        raise InputError("--count must be between 1 and 1000")
    at = time.time() if args.at is None else args.at
    if args.device:  # any device by URL (tokens.open): serial tokens, sim-serial:, totp:?... and more
        from ._device_probe import device_codes

        found = device_codes(args.device, at=at, count=args.count)
        if args.json:
            output.print_json(found)
        else:
            print("\n".join(found["codes"]))
        return 0
    dev, name = _device_for_code(args, at)
    result: dict[str, Any]
    if isinstance(dev, VirtualHOTP):
        if name is not None:
            from ..store import DeviceStore

            with DeviceStore(reference=ManualClock(at)).using(name) as stored:
                assert isinstance(stored, VirtualHOTP)
                first = stored.counter
                codes = stored.consecutive(args.count)
        else:
            first = dev.counter
            codes = dev.consecutive(args.count)
        result = {"codes": codes, "counter": first, "kind": "hotp"}
    else:
        codes = dev.consecutive(args.count, at=at)
        result = {"codes": codes, "device_time": dev.device_time(at), "step": dev.step(at),
                  "reference_time": at, "period": dev.period, "kind": "totp"}
    if args.json:
        output.print_json(result)
    else:
        for c in codes:
            print(c)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..store import check_name

    if bool(args.uri) == bool(args.qr):
        raise InputError("give either an otpauth URI or --qr IMAGE")
    check_name(args.name)
    if args.qr:
        from ..qr import read_qr

        uri = read_qr(args.qr)
    else:
        uri = args.uri
    dev = device_from_uri(uri, drift=drift_from_args(args, default_epoch=time.time()))
    _store().add(args.name, dev)
    info = {"name": args.name, "serial": dev.identity, "kind": dev.kind.value, "issuer": dev.issuer,
            "account": dev.account, "algorithm": dev.algorithm.value, "digits": dev.digits}
    if args.json:
        output.print_json(info)
    else:
        print(f"imported {dev.kind.value} device {args.name!r} ({dev.issuer}:{dev.account})")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("totp", help="virtual TOTP/HOTP devices")
    s = p.add_subparsers(dest="totp_command", metavar="ACTION", required=True)

    n = s.add_parser("new", help="create a virtual device and print its otpauth URI")
    n.add_argument("name", metavar="NAME")
    n.add_argument("--issuer", default="tokensim")
    n.add_argument("--account", help="account in the label (default: NAME)")
    n.add_argument("--algorithm", type=str.upper, choices=ALGS, default="SHA1")
    n.add_argument("--digits", type=_digits, default=6)
    n.add_argument("--period", type=int, default=30)
    n.add_argument("--hotp", action="store_true", help="counter-based (HOTP) instead of TOTP")
    n.add_argument("--counter", type=int, default=0, help="initial HOTP counter")
    n.add_argument("--secret", help="base32 secret (default: 160 random bits)")
    n.add_argument("--qr", metavar="FILE.png", help="also write the QR code as PNG (mode 0600)")
    n.add_argument("--qr-terminal", action="store_true", help="also print the QR code as text")
    add_drift_args(n)
    add_json(n)
    n.set_defaults(func=cmd_new)

    c = s.add_parser("code", help="codes as the device's own (drifted) clock shows them")
    c.add_argument("name", nargs="?", metavar="NAME")
    c.add_argument("--uri", help="an otpauth:// URI instead of a stored device")
    c.add_argument("--secret", help="a base32 secret instead of a stored device")
    c.add_argument("--device", metavar="URL", help="any device by URL (virtual:NAME, serial:///dev/ttyACM0, "
                   "sim-serial:, totp:?secret=...; see 'tokensim device probe')")
    c.add_argument("--algorithm", type=str.upper, choices=ALGS)
    c.add_argument("--digits", type=_digits)
    c.add_argument("--period", type=int)
    c.add_argument("--at", type=parse_time, metavar="UNIX_TIME", help="reference time (default: now)")
    c.add_argument("--count", type=int, default=1, metavar="N", help="N consecutive codes")
    add_json(c)
    c.set_defaults(func=cmd_code)

    i = s.add_parser("import", help="store a device from an otpauth URI or a QR image")
    i.add_argument("uri", nargs="?", metavar="URI")
    i.add_argument("name", metavar="NAME")
    i.add_argument("--qr", metavar="IMAGE", help="read the otpauth URI from a QR image file")
    add_drift_args(i)
    add_json(i)
    i.set_defaults(func=cmd_import)


def _demo(ctx: Any) -> None:
    from ..store import DeviceStore

    store = DeviceStore(ctx.home / "devices.json", reference=ctx.clock)
    t0 = ctx.clock.now()
    dev = VirtualTOTP(algorithm="SHA1", issuer="ACME", account="alice@example.com",
                      reference=ctx.clock, drift=DriftModel(ppm=40, offset=1.5, epoch=t0))
    store.add("acme-token", dev)
    ctx.say(f"created virtual TOTP [bold]acme-token[/] (serial {dev.identity}), clock +40 ppm, +1.5 s")
    ctx.say("  otpauth URI: otpauth://totp/ACME:alice@example.com?secret=<hidden>&issuer=ACME&...")
    ctx.say(f"  the last two codes for a two-code enrollment form, no 30 s wait: {dev.last(2)}")
    for days in (30, 365, 3 * 365):
        at = t0 + days * 86400
        ctx.say(f"  after {days:4d} days the token's clock is {dev.clock.error_at(at):+7.1f} s off "
                f"→ code {dev.code(at=at)} (step {dev.step(at)})")
    again = store.get("acme-token")
    ctx.say(f"  reloaded from the store: same code now? {again.code() == dev.code()}")


DEMO_SECTIONS = [(10, "Virtual TOTP device with a drifting clock", _demo)]
