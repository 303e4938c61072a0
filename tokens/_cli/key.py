"""``tokensim key show|rotate``: the key that seals OTP seeds at rest (see tokens/keyring.py).

    tokensim key show                      which keys, from where (never the key material)
    tokensim key rotate [--db URL]... [--drop-old]
        a new primary key in the key file, every seed of the verifier store(s) and the device
        store sealed again with it; --drop-old then removes the old keys from the file
"""

from __future__ import annotations

import argparse
from typing import Any

from . import output
from .common import add_json


def _show(args: argparse.Namespace) -> int:
    from ..keyring import default_keyring, key_file_to_create

    pending = key_file_to_create()
    if pending is not None:  # read-only: say where it will be, do not create it
        info: dict[str, Any] = {"source": f"{pending} (created on first use)", "primary": None, "keys": [],
                                "sealing": True}
    else:
        ring = default_keyring()
        info = {"source": ring.source, "primary": ring.primary or "(plaintext)", "keys": ring.ids(),
                "sealing": ring.sealing}
    if args.json:
        output.print_json(info)
    else:
        output.kv({**info, "primary": info["primary"] or "-", "keys": ", ".join(info["keys"]) or "-"},
                  title="seal keys")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    from .. import paths
    from ..errors import InputError
    from ..keyring import default_keyring
    from ..store import reseal as reseal_devices
    from ..verifier.stores import describe_url, open_store

    ring = default_keyring()
    if ring.path is None:
        raise InputError(f"the seal key comes from {ring.source}, not from a key file: set "
                         "$TOKENSIM_KEY_FILE (or unset $TOKENSIM_KEY) to rotate")
    dbs = args.db or ([str(paths.verifier_db())] if paths.verifier_db().exists() else [])
    new = ring.rotated()
    new.save()  # first: the file holds old and new keys, so an interrupted rotation loses nothing
    default_keyring(reload=True)
    report: dict[str, Any] = {"key_file": str(new.path), "primary": new.primary, "stores": {}}
    for url in dbs:
        store = open_store(url, keyring=new)
        try:
            reseal = getattr(store, "reseal", None)
            report["stores"][describe_url(url)] = reseal(new) if callable(reseal) else 0
        finally:
            store.close()
    report["devices"] = reseal_devices(args.devices)
    if args.drop_old:
        new.without_old_keys().save()
        default_keyring(reload=True)
    report["keys"] = (new.without_old_keys() if args.drop_old else new).ids()
    if args.json:
        output.print_json(report)
    else:
        sealed = ", ".join(f"{k}: {n}" for k, n in report["stores"].items()) or "no verifier store"
        print(f"new primary key {new.primary} in {new.path}; resealed {sealed}; "
              f"{report['devices']} device(s)" + ("; old keys dropped" if args.drop_old else ""))
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("key", help="the key that seals OTP seeds at rest: show, rotate")
    ks = p.add_subparsers(dest="key_command", required=True, metavar="{show,rotate}")
    s = ks.add_parser("show", help="which seal keys are in use and where they come from")
    add_json(s)
    s.set_defaults(func=_show)
    r = ks.add_parser("rotate", help="new primary key; reseal the verifier store(s) and the device store")
    r.add_argument("--db", action="append", metavar="URL",
                   help="verifier store to reseal (repeatable; default $TOKENSIM_HOME/verifier.sqlite3 "
                        "if it exists)")
    r.add_argument("--devices", metavar="PATH", help="device store to reseal (default the usual one)")
    r.add_argument("--drop-old", action="store_true",
                   help="remove the old keys from the key file after resealing")
    add_json(r)
    r.set_defaults(func=_rotate)
