"""``tokensim hw``: drive serial OTP tokens (real ones, or ``tokensim sim serve``) and find them.

    tokensim hw list
    tokensim hw info --port /dev/ttyACM0
    tokensim hw code --port socket://127.0.0.1:7000 --slot 1
    tokensim hw provision --port URL --slot 0 --random --show-secret
    tokensim hw set-time --port URL --pin 123456

``--port`` takes a device path or any pyserial URL.  The admin PIN comes from ``--pin``, else
$TOKENSIM_HW_PIN, else the factory default 123456.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from . import output
from .common import add_json, parse_time, positive_float

if TYPE_CHECKING:
    from hw.token import SerialToken


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _open(args: argparse.Namespace) -> SerialToken:
    from hw.token import SerialToken

    if args.port.split(":", 1)[0] in ("serial", "sim-serial"):  # device URLs (docs/device-urls.md)
        from ._device_probe import open_serial_token

        return open_serial_token(args.port, pin=getattr(args, "pin", None), timeout=args.timeout,
                                 retries=args.retries)
    return SerialToken.open(args.port, pin=getattr(args, "pin", None), timeout=args.timeout,
                            retries=args.retries)


def cmd_list(args: argparse.Namespace) -> int:
    from hw.discovery import discover

    items, hints = discover()
    if args.json:
        output.print_json({"devices": [f.to_dict() for f in items], "hints": hints})
        return 0
    if items:
        output.table(["kind", "port", "description", "serial", "vid:pid"],
                     [(f.kind, f.port, f.description, f.serial, f.vid_pid) for f in items])
    else:
        print("no serial tokens, simulators or FIDO2 keys found "
              "(plug a token in, or start one with 'tokensim sim serve')")
    for h in hints:
        output.err_console.print(f"hint: {h}", markup=False)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from hw.protocol.commands import DeviceState

    with _open(args) as tok:
        info = tok.info()
        t = tok.get_time()
        slots = tok.list_slots()
    valid = bool(t.state & DeviceState.TIME_VALID)
    d = info.to_dict()
    d["port"] = args.port
    d["device_time"] = t.time_ms / 1000
    d["time_valid"] = valid
    d["clock_error_s"] = round(t.time_ms / 1000 - time.time(), 3) if valid else None
    d["slots"] = [s.to_dict() for s in slots]
    if args.json:
        output.print_json(d)
        return 0
    output.kv({"serial": d["identity"], "model": d["model"], "firmware": d["firmware"], "port": args.port,
               "protocol": d["details"]["protocol"], "capabilities": ", ".join(d["details"]["capabilities"]),
               "state": ", ".join(d["details"]["state"]) or "-",
               "pin retries": d["details"]["pin_retries"],
               "device time": f"{_iso(d['device_time'])}" + ("" if valid else " (not set)"),
               "clock error": f"{d['clock_error_s']:+.3f} s" if valid else "-"})
    output.table(["slot", "state", "type", "algorithm", "digits", "period"],
                 [(s["slot"], "provisioned" if s["provisioned"] else "empty", s.get("type"),
                   s.get("algorithm"), s.get("digits"), s.get("period") or None) for s in d["slots"]])
    return 0


def cmd_code(args: argparse.Namespace) -> int:
    with _open(args) as tok:
        r = tok.get_code(args.slot)
        serial = tok.identity
    totp = r.type == 1
    d: dict[str, Any] = {"serial": serial, "slot": r.slot, "type": "totp" if totp else "hotp", "code": r.code,
                         "step" if totp else "counter": r.counter,
                         "device_time": r.time_ms / 1000 if r.time_ms else None}
    if args.json:
        output.print_json(d)
    else:
        print(r.code)
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    from ..device import EnrollRequest, OtpOptions
    from ..otp import decode_secret

    secret = decode_secret(args.secret) if args.secret else None
    opts = OtpOptions(type=args.type, algorithm=args.algorithm, digits=args.digits, period=args.period,
                      counter=args.counter)
    with _open(args) as tok:
        enr = tok.enroll(EnrollRequest(account=args.account, rp_id=args.issuer, secret=secret, slot=args.slot,
                                       otp=opts))
    d: dict[str, Any] = {"serial": enr.device_id, "slot": enr.slot, **enr.params.public_dict()}
    if args.show_secret:
        d["uri"] = enr.otpauth_uri
    if args.json:
        output.print_json(d)
    else:
        print(f"provisioned slot {args.slot} of {enr.device_id} ({args.type}, {args.algorithm}, "
              f"{args.digits} digits" + (f", {args.period} s" if args.type == "totp" else "") + ")")
        if args.show_secret:
            print(enr.otpauth_uri)
        else:
            print("the seed is not shown (the token never gives it back): use --show-secret to print the "
                  "otpauth URI once")
    return 0


def cmd_set_time(args: argparse.Namespace) -> int:
    target = time.time() if args.at is None else args.at
    with _open(args) as tok:
        before = tok.set_time(target, force=args.force)
        after = tok.get_time()
        serial = tok.identity
    prev = before.time_ms / 1000
    d = {"serial": serial, "set_to": target, "before": prev,
         "correction_s": round(target - before.time_ms / 1000, 3), "device_time": after.time_ms / 1000}
    if args.json:
        output.print_json(d)
    else:
        print(f"{serial}: clock set to {_iso(target)} (was {_iso(prev)}, "
              f"corrected by {d['correction_s']:+.3f} s)")
    return 0




def _port_args(p: argparse.ArgumentParser, pin: bool = False) -> None:
    p.add_argument("--port", "--device", dest="port", required=True, metavar="URL",
                   help="device path (/dev/ttyACM0) or pyserial URL (socket://127.0.0.1:7000)")
    p.add_argument("--timeout", type=positive_float, default=0.25, metavar="S",
                   help="per-attempt timeout (0.25)")
    p.add_argument("--retries", type=int, default=3, help="retries after a timeout or bad frame (3)")
    if pin:
        p.add_argument("--pin", default=None, help="admin PIN (default: $TOKENSIM_HW_PIN or 123456)")
    add_json(p)


def _validate(args: argparse.Namespace) -> None:
    if args.retries < 0 or args.retries > 20:
        raise InputError("--retries must be between 0 and 20")


def _wrap(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        _validate(args)
        return int(fn(args))
    return run


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("hw", help="serial OTP tokens: list, info, code, provision, set-time")
    hs = p.add_subparsers(dest="hw_command", metavar="COMMAND")

    s = hs.add_parser("list", help="list serial tokens, running simulators and FIDO2 keys")
    add_json(s)
    s.set_defaults(func=cmd_list)

    s = hs.add_parser("info", help="model, firmware, serial, clock and slots of a token")
    _port_args(s)
    s.set_defaults(func=_wrap(cmd_info))

    s = hs.add_parser("code", help="read a code from a slot (the token may want its button pressed)")
    _port_args(s)
    s.add_argument("--slot", type=int, default=0)
    s.set_defaults(func=_wrap(cmd_code))

    s = hs.add_parser("provision", help="install a seed in a slot (write-only: it cannot be read back)")
    _port_args(s, pin=True)
    s.add_argument("--slot", type=int, required=True)
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--secret", metavar="B32", help="the seed, base32")
    src.add_argument("--random", action="store_true", help="generate a random seed")
    s.add_argument("--type", choices=["totp", "hotp"], default="totp")
    s.add_argument("--algorithm", choices=["SHA1", "SHA256", "SHA512"], default="SHA1")
    s.add_argument("--digits", type=int, choices=[6, 7, 8], default=6)
    s.add_argument("--period", type=int, default=30)
    s.add_argument("--counter", type=int, default=0, help="HOTP initial counter")
    s.add_argument("--account", default="user@tokensim", help="account name for the otpauth URI")
    s.add_argument("--issuer", default="tokensim", help="issuer for the otpauth URI")
    s.add_argument("--show-secret", action="store_true", help="print the otpauth URI (contains the seed)")
    s.set_defaults(func=_wrap(cmd_provision))

    s = hs.add_parser("set-time", help="set the token's clock (host time, or --at T)")
    _port_args(s, pin=True)
    s.add_argument("--at", type=parse_time, default=None, metavar="T", help="Unix seconds or ISO 8601")
    s.add_argument("--force", action="store_true", help="allow moving the clock backwards")
    s.set_defaults(func=_wrap(cmd_set_time))
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])
