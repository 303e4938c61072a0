"""``tokensim totp``: create, import and read virtual TOTP/HOTP devices."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..clock import DriftModel, ManualClock
from ..errors import InputError
from ..otp import Algorithm, check_digits, check_period, codes_equal, decode_secret, hotp, random_secret, totp
from ..virtual import VirtualHOTP, VirtualTOTP, device_from_uri
from . import output
from .common import add_drift_args, add_json, drift_from_args, parse_time, whole_number

ALGS = [a.value for a in Algorithm]


def _digits(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"digits must be a whole number, not {text!r}") from None
    return v


def _secret(args: argparse.Namespace) -> bytes:
    """``--secret`` as base32 (authenticator apps), or as hex with ``--hex`` (oathtool's default)."""
    if not getattr(args, "hex", False):
        return decode_secret(args.secret)
    text = "".join(args.secret.split())
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise InputError("--hex: the secret is not hexadecimal (0-9, a-f, an even number of digits)") \
            from None
    if not key:
        raise InputError("--hex: the secret is empty")
    return key


def _store() -> Any:
    from ..store import DeviceStore

    return DeviceStore()


def cmd_new(args: argparse.Namespace) -> int:
    from ..store import check_name

    check_name(args.name)
    secret = _secret(args) if args.secret else random_secret()
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
    if args.secret and args.hotp:
        return VirtualHOTP(_secret(args), counter=args.counter or 0, algorithm=args.algorithm or "SHA1",
                           digits=6 if args.digits is None else args.digits), None
    if args.secret:
        return VirtualTOTP(_secret(args), algorithm=args.algorithm or "SHA1",
                           digits=6 if args.digits is None else args.digits,
                           period=30 if args.period is None else args.period, drift=DriftModel(),
                           reference=ref), None
    if not args.name:
        raise InputError("give a device NAME, --uri URI or --secret BASE32")
    from ..store import DeviceStore

    store = DeviceStore(reference=ref)
    return store.get(args.name), args.name


def cmd_code(args: argparse.Namespace) -> int:
    if sum(bool(x) for x in (args.name, args.uri, args.secret, args.device)) != 1:
        raise InputError("give exactly one of NAME, --uri URI, --secret BASE32 or --device URL")
    if (args.algorithm or args.digits is not None or args.period is not None or args.hex or args.hotp) \
            and not args.secret:
        raise InputError("--algorithm/--digits/--period/--hex/--hotp go with --secret (a device or URI has "
                         "its own)")
    if args.counter is not None and not args.hotp:
        raise InputError("--counter goes with --hotp")
    if args.hotp and args.period is not None:
        raise InputError("--period is for TOTP; an HOTP code depends on --counter")
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


def cmd_check(args: argparse.Namespace) -> int:
    """oathtool-style validation without enrollment: is CODE in the window, and where."""
    if bool(args.secret) == bool(args.uri):
        raise InputError("give --secret KEY or --uri URI")
    if args.uri and (args.hex or args.algorithm or args.digits is not None or args.period is not None):
        raise InputError("--hex/--algorithm/--digits/--period go with --secret (a URI has its own)")
    if args.window < 0 or args.window > 100_000:
        raise InputError("--window must be between 0 and 100000")
    code = args.code.strip()
    if not code.isdigit():
        raise InputError(f"not a code: {args.code!r} (digits only)")
    at = time.time() if args.at is None else args.at
    if args.uri:
        dev = device_from_uri(args.uri, reference=ManualClock(at))
        key, alg, digits = dev.secret, dev.algorithm, dev.digits
        hotp_mode = isinstance(dev, VirtualHOTP)
        period = getattr(dev, "period", 30)
        counter = dev.counter if isinstance(dev, VirtualHOTP) else 0
        t0 = float(getattr(dev, "t0", 0.0))
    else:
        key, alg = _secret(args), Algorithm.parse(args.algorithm or "SHA1")
        digits = len(code) if args.digits is None else args.digits
        hotp_mode, counter, t0 = args.hotp, args.counter or 0, 0.0
        period = check_period(30 if args.period is None else args.period)
        check_digits(digits)
    result: dict[str, Any] = {"ok": False, "window": args.window}
    if hotp_mode:  # oathtool --hotp -w N: the counter and the N after it
        result["kind"] = "hotp"
        for pos in range(args.window + 1):
            if codes_equal(hotp(key, counter + pos, digits, alg), code):
                result.update(ok=True, offset=pos, counter=counter + pos, next_counter=counter + pos + 1)
                break
    else:  # oathtool --totp -w N: N steps either side, nearest first
        result["kind"] = "totp"
        step = int((at - t0) // period)
        result["step"] = step
        for off in sorted(range(-args.window, args.window + 1), key=lambda o: (abs(o), o)):
            at_step = t0 + (step + off) * period
            if step + off >= 0 and codes_equal(totp(key, at_step, digits, period, alg, t0), code):
                result.update(ok=True, offset=off, matched_step=step + off)
                break
    if args.json:
        output.print_json(result)
        return 0 if result["ok"] else 1
    if not result["ok"]:
        around = f"counter {counter}..{counter + args.window}" if hotp_mode else \
            f"±{args.window} steps around step {result['step']}"
        raise _NoMatch(f"code does not match ({around}; widen with -w N)")
    print(result["offset"])
    return 0


class _NoMatch(InputError):
    pass


def cmd_codes(args: argparse.Namespace) -> int:
    """Every stored device's current code (ykman oath accounts code style); HOTP is not pressed."""
    from ..store import DeviceStore

    at = time.time() if args.at is None else args.at
    store = DeviceStore(reference=ManualClock(at))
    rows: list[dict[str, Any]] = []
    for name in store.names():
        dev = store.get(name)
        row: dict[str, Any] = {"name": name, "issuer": dev.issuer, "account": dev.account,
                               "kind": dev.kind.value}
        if isinstance(dev, VirtualTOTP):
            dt = dev.device_time(at)
            row.update(code=dev.code(at=at), valid_for=round(dev.period - (dt - dev.t0) % dev.period, 1),
                       step=dev.step(at))
        else:  # reading an HOTP code moves its counter: never done in a listing
            row.update(code=None, counter=dev.counter)
        rows.append(row)
    if args.json:
        output.print_json(rows)
    elif not rows:
        print("no devices (create one with 'tokensim totp new NAME')")
    else:
        output.table(["name", "account", "code", "valid for"],
                     [(r["name"], f"{r['issuer']}:{r['account']}" if r["issuer"] else r["account"],
                       r["code"] or "HOTP: 'totp code NAME' presses",
                       f"{r['valid_for']:.0f} s" if "valid_for" in r else f"counter {r['counter']}")
                      for r in rows])
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
    n.add_argument("--period", type=whole_number, default=30, help="TOTP step in seconds (default 30)")
    n.add_argument("--hotp", action="store_true", help="counter-based (HOTP) instead of TOTP")
    n.add_argument("--counter", type=int, default=0, help="initial HOTP counter")
    n.add_argument("--secret", help="base32 secret (default: 160 random bits)")
    n.add_argument("--hex", action="store_true", help="the --secret is hexadecimal (oathtool style)")
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
    c.add_argument("--hex", action="store_true", help="the --secret is hexadecimal (oathtool style)")
    c.add_argument("--hotp", action="store_true", help="with --secret: HOTP codes (oathtool --hotp)")
    c.add_argument("--counter", type=whole_number, metavar="N", help="with --hotp: the counter (default 0)")
    c.add_argument("--algorithm", type=str.upper, choices=ALGS)
    c.add_argument("--digits", type=_digits)
    c.add_argument("--period", type=whole_number, help="with --secret: TOTP step in seconds (default 30)")
    c.add_argument("--at", type=parse_time, metavar="UNIX_TIME", help="reference time (default: now)")
    c.add_argument("--count", type=int, default=1, metavar="N", help="N consecutive codes")
    add_json(c)
    c.set_defaults(func=cmd_code)

    k = s.add_parser("check", help="is CODE valid for a secret? (oathtool -w N style, no enrollment)",
                     description="Validate CODE against --secret (or --uri) without enrolling anything, like "
                                 "'oathtool --totp -w N KEY CODE': prints the offset of the matching step "
                                 "(0 = now, -1 = one step behind ...; for HOTP the position after --counter) "
                                 "and exits 0, or exits 1 when no step in the window matches. No replay "
                                 "protection or drift tracking: that is 'tokensim verifier'.")
    k.add_argument("code", metavar="CODE")
    k.add_argument("--secret", help="the shared secret, base32 (or hex with --hex)")
    k.add_argument("--uri", help="an otpauth:// URI instead of --secret")
    k.add_argument("--hex", action="store_true", help="the --secret is hexadecimal (oathtool style)")
    k.add_argument("-w", "--window", type=whole_number, default=0, metavar="N",
                   help="TOTP: also N steps before and after; HOTP: the N counters after --counter "
                        "(default 0)")
    k.add_argument("--hotp", action="store_true", help="HOTP (counter-based) instead of TOTP")
    k.add_argument("--counter", type=whole_number, metavar="N",
                   help="with --hotp: the first counter (default 0)")
    k.add_argument("--algorithm", type=str.upper, choices=ALGS)
    k.add_argument("--digits", type=_digits, help="default: the length of CODE")
    k.add_argument("--period", type=whole_number, help="TOTP step in seconds (default 30)")
    k.add_argument("--at", type=parse_time, metavar="UNIX_TIME", help="reference time (default: now)")
    add_json(k)
    k.set_defaults(func=cmd_check)

    a = s.add_parser("codes", help="the current code of every stored device (HOTP devices are not pressed)")
    a.add_argument("--at", type=parse_time, metavar="UNIX_TIME", help="reference time (default: now)")
    add_json(a)
    a.set_defaults(func=cmd_codes)

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
