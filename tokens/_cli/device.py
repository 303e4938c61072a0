"""``tokensim device``: list, show and remove stored devices."""

from __future__ import annotations

import argparse
from typing import Any

from . import output
from ._device_probe import DEMO_SECTIONS, register_probe
from .common import add_json

__all__ = ["DEMO_SECTIONS", "register"]  # demo section 60 (open_device) lives beside the probe command


def _summary(name: str, rec: dict[str, Any]) -> dict[str, Any]:
    clock = rec.get("clock") or {}
    out = {"name": name, "kind": rec.get("type"), "serial": rec.get("serial"),
           "issuer": rec.get("issuer"), "account": rec.get("account"),
           "algorithm": rec.get("algorithm"), "digits": rec.get("digits"),
           "enrolled": bool(rec.get("uri"))}
    if rec.get("type") == "totp":
        out.update(period=rec.get("period"), drift_ppm=clock.get("ppm", 0.0),
                   offset=clock.get("offset", 0.0))
    else:
        out["counter"] = rec.get("counter")
    if rec.get("meta"):
        out["meta"] = rec["meta"]
    return out


def cmd_list(args: argparse.Namespace) -> int:
    from ..store import DeviceStore

    store = DeviceStore()
    rows = [_summary(n, store.record(n)) for n in store.names()]
    if args.json:
        output.print_json({"devices": rows})
    elif not rows:
        print(f"no devices in {store.path} (create one with 'tokensim totp new NAME')")
    else:
        output.table(["name", "kind", "serial", "label", "alg", "digits", "drift ppm"],
                     [[r["name"], r["kind"], r["serial"], f"{r['issuer']}:{r['account']}",
                       r["algorithm"], r["digits"], r.get("drift_ppm", "")] for r in rows])
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ..store import DeviceStore

    store = DeviceStore()
    rec = store.record(args.name)
    info = _summary(args.name, rec)
    if args.show_secret:
        info["uri"] = rec.get("uri")
    if args.json:
        output.print_json(info)
    else:
        output.kv(info)
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from ..store import DeviceStore

    DeviceStore().remove(args.name)
    if args.json:
        output.print_json({"removed": args.name})
    else:
        print(f"removed {args.name}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("device", help="stored devices: list, show, rm")
    s = p.add_subparsers(dest="device_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="list stored devices")
    add_json(ls)
    ls.set_defaults(func=cmd_list)
    sh = s.add_parser("show", help="show one device (no secret unless --show-secret)")
    sh.add_argument("name", metavar="NAME")
    sh.add_argument("--show-secret", action="store_true", help="include the otpauth URI (has the secret)")
    add_json(sh)
    sh.set_defaults(func=cmd_show)
    rm = s.add_parser("rm", help="remove a device")
    rm.add_argument("name", metavar="NAME")
    add_json(rm)
    rm.set_defaults(func=cmd_rm)
    register_probe(s)
