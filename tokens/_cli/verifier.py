"""``tokensim verifier``: the MFA verifier on its embedded SQLite store.

    tokensim verifier enroll SERIAL (--uri URI | --device NAME) (--code1 C1 --code2 C2 | --auto) [--at T]
    tokensim verifier enable SERIAL C1 C2 [--at T]     (a pending credential, e.g. a PSKC import)
    tokensim verifier check SERIAL CODE [--at T]
    tokensim verifier resync SERIAL C1 C2 [--at T]
    tokensim verifier show SERIAL | list | disable SERIAL | unlock SERIAL
    tokensim verifier import-pskc FILE [--key HEX | --passphrase P] [--active]

Every command takes ``--db PATH`` (default ``$TOKENSIM_HOME/verifier.sqlite3``) and ``--json``.
A rejected code exits 1, with the JSON result still printed under ``--json``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError
from . import output
from .common import add_json, parse_time

if TYPE_CHECKING:
    from ..verifier import Verifier
    from ..virtual import VirtualHOTP, VirtualTOTP

T = TypeVar("T")


def _verifier(args: argparse.Namespace, *, create: bool = False) -> Verifier:
    """The verifier on ``--db`` (a path, sqlite:///PATH or postgresql://...).  Only commands that add
    credentials (``create``) may create a SQLite database; the others never create files or folders."""
    from ..paths import verifier_db
    from ..verifier import Verifier
    from ..verifier.stores import _sqlite_path, is_postgres_url, open_store

    url = str(args.db or verifier_db())
    if not create and not is_postgres_url(url) and url.lower() not in ("memory:", "memory://"):
        path = Path(_sqlite_path(url))
        if not path.is_file():
            raise InputError(f"no verifier database at {path} (nothing enrolled there yet: "
                             "'tokensim verifier enroll' or 'import-pskc' creates it)")
    return Verifier(open_store(url))


def _at(args: argparse.Namespace) -> float:
    return time.time() if args.at is None else float(args.at)


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _result(args: argparse.Namespace, data: dict[str, Any], ok: bool, human: str) -> int:
    if args.json:
        output.print_json(data)
    elif ok:
        print(human)
    else:
        output.error(human)
    return 0 if ok else 1


# ------------------------------------------------------------------ enroll


def _device(args: argparse.Namespace) -> VirtualTOTP | VirtualHOTP:
    from ..virtual import device_from_uri

    if args.uri:
        return device_from_uri(args.uri)
    from ..store import DeviceStore

    return DeviceStore().get(args.device)


def cmd_enroll(args: argparse.Namespace) -> int:
    from ..verifier.enroll import enroll
    from ..virtual import VirtualHOTP

    at = _at(args)
    if args.auto == bool(args.code1 or args.code2):
        raise InputError("give either --code1 and --code2, or --auto")
    if not args.auto and not (args.code1 and args.code2):
        raise InputError("enrollment needs two consecutive codes: --code1 and --code2")
    if args.device and ":" in args.device:  # a device URL (docs/device-urls.md): enroll it, read two codes
        from ._device_probe import enroll_from_device

        enr, args.code1, args.code2, at = enroll_from_device(args.device, at=at, account=args.serial,
                                                             issuer="tokensim")
        args.uri, args.device, args.auto = enr.otpauth_uri, None, False
    dev = _device(args)
    v = _verifier(args, create=True)
    try:
        if args.auto:
            if isinstance(dev, VirtualHOTP) and args.device:
                from ..store import DeviceStore

                with DeviceStore().using(args.device) as live:  # the presses move the stored counter
                    code1, code2 = live.consecutive(2)
            elif isinstance(dev, VirtualHOTP):
                code1, code2 = dev.consecutive(2)
            else:
                code1, code2 = dev.last(2, at=at)
        else:
            code1, code2 = args.code1, args.code2
        res = enroll(v, args.serial, dev.params(), code1, code2, at=at)
    finally:
        v.store.close()
    human = (f"{args.serial} enabled (step {res.step}, offset {res.offset_steps:+d})" if res.ok
             else f"{args.serial}: enable failed: {res.reason.value} (the credential stays pending)")
    return _result(args, res.to_dict(), res.ok, human)


def cmd_enable(args: argparse.Namespace) -> int:
    res = _on_known(args, lambda v, at: v.enable(args.serial, args.code1, args.code2, at=at))
    human = (f"{args.serial} enabled (step {res.step}, offset {res.offset_steps:+d})" if res.ok
             else f"{args.serial}: enable failed: {res.reason.value}"
                  + (" (the credential stays pending)" if res.reason.value in ("not_found", "not_consecutive",
                                                                                "invalid") else ""))
    return _result(args, res.to_dict(), res.ok, human)


# ------------------------------------------------------------------ check / resync


def _known(v: Verifier, serial: str) -> None:
    from ..verifier import UnknownCredentialError

    if v.store.get(serial) is None:
        raise UnknownCredentialError(f"no credential {serial}")


def _on_known(args: argparse.Namespace, op: Callable[[Verifier, float | None], T]) -> T:
    """``op(verifier, at)`` for the credential ``args.serial``, which must exist; the store is closed
    afterwards."""
    v = _verifier(args)
    try:
        _known(v, args.serial)
        return op(v, _at(args))
    finally:
        v.store.close()


def cmd_check(args: argparse.Namespace) -> int:
    res = _on_known(args, lambda v, at: v.verify(args.serial, args.code, at=at))
    if res.ok:
        human = f"ok (step {res.step}, offset {res.offset_steps:+d})"
    else:
        human = f"rejected: {res.reason.value}"
        if res.retry_after:
            human += f" (retry after {res.retry_after:.0f} s)"
    return _result(args, res.to_dict(), res.ok, human)


def cmd_resync(args: argparse.Namespace) -> int:
    res = _on_known(args, lambda v, at: v.resync(args.serial, args.code1, args.code2, at=at))
    human = (f"{args.serial} resynchronised (step {res.step}, offset {res.offset_steps:+d})" if res.ok
             else f"{args.serial}: resync failed: {res.reason.value}")
    return _result(args, res.to_dict(), res.ok, human)


# ------------------------------------------------------------------ registry


def cmd_show(args: argparse.Namespace) -> int:
    from ..verifier import Kind

    v = _verifier(args)
    try:
        cred = v.get(args.serial)
        at = _at(args)
        data = cred.to_dict()
        data["window"] = list(v.window(args.serial, at=at))
        data["drift"] = None
        if cred.kind is Kind.TOTP:
            est = v.drift(args.serial, at=at)
            data["drift"] = {**est.to_dict(), "window_coverage": v.coverage(est)}
    finally:
        v.store.close()
    if args.json:
        output.print_json(data)
        return 0
    drift = data.pop("drift")
    for k in ("created_at", "enabled_at", "last_used_at", "last_failure_at", "updated_at", "throttle_until"):
        data[k] = _fmt_time(data[k])
    if drift:
        data["predicted offset"] = f"{drift['offset_steps']:+.2f} ± {drift['offset_sd_steps']:.2f} steps"
        trusted = "" if drift["rate_trusted"] else " (not yet known well)"
        data["drift rate"] = f"{drift['rate_ppm']:+.1f} ± {drift['rate_sd_ppm']:.1f} ppm{trusted}"
        data["successes tracked"] = f"{drift['points']} over {drift['span_days']} days"
        data["window covers"] = f"{100 * drift['window_coverage']:.1f} %"
    output.kv(data, title=f"credential {args.serial}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    v = _verifier(args)
    try:
        creds = v.credentials()
    finally:
        v.store.close()
    if args.json:
        output.print_json([c.to_dict() for c in creds])
        return 0
    output.table(["serial", "kind", "status", "last step", "offset", "failures", "locked", "last used"],
                 [(c.serial, c.kind.value, c.status.value, c.last_step, c.offset_steps, c.failures,
                   "yes" if c.locked else "", _fmt_time(c.last_used_at)) for c in creds])
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    v = _verifier(args)
    try:
        v.disable(args.serial)
    finally:
        v.store.close()
    return _result(args, {"serial": args.serial, "status": "disabled"}, True, f"{args.serial} disabled")


def cmd_unlock(args: argparse.Namespace) -> int:
    v = _verifier(args)
    try:
        v.unlock(args.serial)
    finally:
        v.store.close()
    return _result(args, {"serial": args.serial, "unlocked": True}, True, f"{args.serial} unlocked")


def cmd_import_pskc(args: argparse.Namespace) -> int:
    from ..verifier import Status
    from ..verifier.pskc_import import import_pskc

    key = None
    if args.key is not None:
        try:
            key = bytes.fromhex(args.key)
        except ValueError:
            raise InputError("--key must be hexadecimal") from None
    if not Path(args.file).is_file():
        raise InputError(f"{args.file}: no such file" if not Path(args.file).exists()
                         else f"{args.file}: not a file")
    v = _verifier(args, create=True)
    try:
        results = import_pskc(v, args.file, key=key, passphrase=args.passphrase, atomic=args.atomic,
                              status=Status.ACTIVE if args.active else Status.PENDING)
    finally:
        v.store.close()
    if args.json:
        output.print_json([r.to_dict() for r in results])
    else:
        output.table(["serial", "kind", "outcome", "status / reason"],
                     [(r.serial, r.kind, r.outcome.value, r.status or r.reason) for r in results])
    errors = sum(1 for r in results if r.outcome.value == "error")
    if errors:
        imported = sum(1 for r in results if r.imported)
        output.error(f"{errors} key(s) of {args.file} could not be imported ({imported} imported"
                     + (", none written: --atomic)" if args.atomic else ")"))
        return 1
    return 0


# ------------------------------------------------------------------ parser


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("verifier", help="verify OTP codes: enroll, check, resync, drift tracking")
    vs = p.add_subparsers(dest="verifier_command", metavar="COMMAND", required=True,
                          parser_class=type(p))

    def cmd(name: str, help_: str, func: Any, *, at: bool = False) -> argparse.ArgumentParser:
        c: argparse.ArgumentParser = vs.add_parser(name, help=help_)
        c.add_argument("--db", metavar="PATH",
                       help="verifier database: a path, sqlite:///PATH or postgresql://... "
                            "(default: $TOKENSIM_HOME/verifier.sqlite3)")
        if at:
            c.add_argument("--at", type=parse_time, metavar="T", help="reference time (default: now)")
        add_json(c)
        c.set_defaults(func=func)
        return c

    e = cmd("enroll", "register a token and enable it with two consecutive codes", cmd_enroll, at=True)
    e.add_argument("serial", metavar="SERIAL")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--uri", help="the token's otpauth:// URI")
    src.add_argument("--device", metavar="NAME|URL",
                     help="a virtual device from the device store, or any device URL (enrolled, then read)")
    e.add_argument("--code1", metavar="C1")
    e.add_argument("--code2", metavar="C2")
    e.add_argument("--auto", action="store_true", help="take the two codes from the token itself at --at")

    n = cmd("enable", "activate a pending credential (e.g. a PSKC import) with two consecutive codes",
            cmd_enable, at=True)
    n.add_argument("serial", metavar="SERIAL")
    n.add_argument("code1", metavar="C1")
    n.add_argument("code2", metavar="C2")

    c = cmd("check", "verify one code", cmd_check, at=True)
    c.add_argument("serial", metavar="SERIAL")
    c.add_argument("code", metavar="CODE")

    r = cmd("resync", "resynchronise with two consecutive codes (wide search)", cmd_resync, at=True)
    r.add_argument("serial", metavar="SERIAL")
    r.add_argument("code1", metavar="C1")
    r.add_argument("code2", metavar="C2")

    s = cmd("show", "one credential, its drift estimate and window (never the secret)", cmd_show, at=True)
    s.add_argument("serial", metavar="SERIAL")
    cmd("list", "all credentials", cmd_list)
    d = cmd("disable", "refuse every code of a credential from now on", cmd_disable)
    d.add_argument("serial", metavar="SERIAL")
    u = cmd("unlock", "clear failures, back-off and lockout", cmd_unlock)
    u.add_argument("serial", metavar="SERIAL")
    i = cmd("import-pskc", "import HOTP/TOTP keys from a PSKC (RFC 6030) file", cmd_import_pskc)
    i.add_argument("file", metavar="FILE")
    enc = i.add_mutually_exclusive_group()
    enc.add_argument("--key", metavar="HEX", help="pre-shared decryption key (hex)")
    enc.add_argument("--passphrase", metavar="P", help="passphrase (PBKDF2-encrypted files)")
    i.add_argument("--active", action="store_true",
                   help="import as active instead of pending (pending keys: 'verifier enable SERIAL C1 C2')")
    i.add_argument("--atomic", action="store_true",
                   help="all or nothing: import no key if any key of the file is broken (default: per key; "
                        "exit 1 when a key failed)")

    try:  # the HTTP service adds 'verifier serve' (tokens/_cli/_verifier_serve.py)
        from ._verifier_serve import register_serve
    except ImportError:
        pass
    else:
        register_serve(vs)


# ------------------------------------------------------------------ demo

_DAY = 86400.0


def _demo(ctx: Any) -> None:
    from ..clock import DriftModel
    from ..paths import verifier_db
    from ..verifier import MemoryStore, Policy, SQLiteStore, Verifier
    from ..virtual import VirtualTOTP

    clock = ctx.clock
    t0 = clock.now()
    store = SQLiteStore(verifier_db(ctx.home))
    try:
        v = Verifier(store, clock=clock)
        naive = Verifier(MemoryStore(), Policy(rate_estimation=False, look_ahead=1),  # fixed ±1
                         clock=clock)
        dev = VirtualTOTP(reference=clock, drift=DriftModel(ppm=40, offset=2.0, epoch=t0),
                          issuer="ACME", account="carol")
        for x in (v, naive):
            x.register_uri("CAROL", dev.uri())
            c1, c2 = dev.last(2, at=t0)
            assert x.enable("CAROL", c1, c2).ok
        ctx.say("token CAROL runs [bold]+40 ppm[/] fast (~3.5 steps a month); enrolled with two consecutive "
                "codes; the window covers 99.5 % of where the prediction says the code is (2 to 12 steps)")
        ctx.say("checked weekly for two months, then monthly; 'naive' is offset-only tracking "
                "(privacyIDEA's timeShift) with a fixed ±1 window on the same codes; window and prediction "
                "in steps")
        times = [t0 + 7 * _DAY * k for k in range(1, 10)]
        times += [times[-1] + 30 * _DAY * m for m in range(1, 24)]
        rows, naive_resyncs, misses = [], 0, 0
        for i, t in enumerate(times):
            clock.set(t)
            code = dev.code()
            est = v.drift("CAROL")
            res = v.verify("CAROL", code)
            nres = naive.verify("CAROL", code)
            misses += not res.ok
            if not nres.ok:
                naive_resyncs += 1
                c1, c2 = dev.last(2, at=t)
                naive.resync("CAROL", c1, c2)
            if i in (0, 1, 3, 8) or (i > 8 and (i - 8) % 4 == 0):
                lo, hi = res.window or (0, 0)
                rows.append((time.strftime("%Y-%m-%d", time.gmtime(t)), f"{dev.clock.error_at(t):+.1f}",
                             f"{est.offset:+.2f}", f"{est.rate_ppm:+.1f}",
                             f"{lo - math.floor(t / 30):+d}..{hi - math.floor(t / 30):+d}",
                             res.reason.value, nres.reason.value))
        output.table(["date", "ahead s", "predicted", "ppm", "window", "tracked", "naive"], rows)
        ctx.say(f"over {len(times)} checks in {(times[-1] - t0) / _DAY / 365.25:.1f} years: rate tracking "
                f"missed [bold]{misses}[/], offset-only needed [bold]{naive_resyncs}[/] resyncs")

        clock.advance(30)
        code = dev.code()
        first, again = v.verify("CAROL", code), v.verify("CAROL", code)
        ctx.say(f"replay: the same code twice → {first.reason.value}, then [bold]{again.reason.value}[/]")

        victim = VirtualTOTP(reference=clock, account="dave")
        v.register_uri("DAVE", victim.uri())
        c1, c2 = victim.last(2, at=clock.now())
        v.enable("DAVE", c1, c2)
        attempts, start = [], clock.now()
        for guess in range(12):
            res = v.verify("DAVE", f"{guess * 83_311 % 1_000_000:06d}")
            if res.reason.value == "throttled":
                clock.advance(res.retry_after)
                res = v.verify("DAVE", f"{guess * 83_311 % 1_000_000:06d}")
            note = f" (wait {res.retry_after:.0f} s)" if res.retry_after else ""
            attempts.append(f"{res.reason.value}{note}")
            clock.advance(1)
        ctx.say("brute force on DAVE, waiting out every back-off: " + ", ".join(attempts))
        ctx.say(f"  {clock.now() - start:.0f} s for 12 guesses; the right code now → "
                f"[bold]{v.verify('DAVE', victim.code()).reason.value}[/] until an administrator unlocks")

        drawer = VirtualTOTP(reference=clock, drift=DriftModel(ppm=40, epoch=clock.now()), account="erin")
        v.register_uri("ERIN", drawer.uri())
        c1, c2 = drawer.last(2, at=clock.now())
        v.enable("ERIN", c1, c2)
        clock.advance(2 * 365 * _DAY)
        res = v.verify("ERIN", drawer.code())
        ctx.say(f"ERIN's token spent two years in a drawer (+{drawer.clock.error_at(clock.now()):.0f} s): "
                f"verify → {res.reason.value}")
        c1, c2 = drawer.last(2, at=clock.now())
        sync = v.resync("ERIN", c1, c2)
        clock.advance(60)
        ctx.say(f"  resync with two consecutive codes → {sync.reason.value} (offset {sync.offset_steps:+d} "
                f"steps); next code → {v.verify('ERIN', drawer.code()).reason.value}")
    finally:
        store.close()
        clock.set(t0)


DEMO_SECTIONS = [(20, "MFA verifier: drift-rate tracking, replay, throttling, resync", _demo)]
