"""``tokensim sim serve``: a simulated serial token behind a pseudo-terminal or a TCP socket.

Prints one JSON line ``{"event": "ready", "port": ..., "serial": ...}`` once the port is ready, then
serves until interrupted (Ctrl-C or SIGTERM, exit 0) and prints ``{"event": "stopped", ...}``.  The
port works with ``tokensim hw ... --port PORT`` and with anything that speaks pyserial.  Physical
actions on the running token: SIGUSR1 fits a new clock battery (the RTC restarts from 0 and needs
SET_TIME), SIGUSR2 presses the button.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import output
from .common import add_drift_args, add_json, drift_from_args, nonneg_float, port_number, probability


def cmd_serve(args: argparse.Namespace) -> int:
    from firmware_sim.batch import provision_slots, write_pskc
    from firmware_sim.build import make_firmware
    from firmware_sim.errors import SimError
    from firmware_sim.faults import Endpoint, FaultPlan, FaultyEndpoint
    from firmware_sim.runner import PtyRunner, Runner, TcpRunner
    from hw.discovery import register_simulator, unregister_simulator

    from ..clock import SystemClock

    if args.pskc_out and not args.provision:
        raise InputError("--pskc-out needs --provision N")
    if not 0 <= args.provision <= args.slots:
        raise InputError(f"--provision must be between 0 and --slots ({args.slots})")
    psk = None
    if args.pskc_psk:
        try:
            psk = bytes.fromhex(args.pskc_psk)
        except ValueError:
            raise InputError("--pskc-psk must be hex (32, 48 or 64 hex digits)") from None
        if len(psk) not in (16, 24, 32):
            raise InputError("--pskc-psk must be 16, 24 or 32 bytes (32, 48 or 64 hex digits)")
    ref = SystemClock()
    try:
        fw = make_firmware(serial=args.serial, reference=ref, drift=drift_from_args(args, time.time()),
                           slots=args.slots, pin=args.pin, pin_retries=args.pin_retries,
                           button=args.button or args.button_delay is not None,
                           button_timeout=args.button_timeout, battery_life=args.battery_life,
                           monotonic_time=not args.allow_backwards)
        plan = FaultPlan(corrupt=args.corrupt, drop=args.drop, garbage=args.garbage, latency=args.latency,
                         latency_prob=args.latency_prob, unplug=args.unplug, seed=args.fault_seed)
    except ValueError as e:
        raise SimError(str(e)) from None
    keys = provision_slots(fw, args.provision, type="hotp" if args.hotp else "totp",
                           algorithm=args.algorithm, digits=args.digits, period=args.period)
    if args.pskc_out:
        write_pskc(args.pskc_out, keys, psk=psk)
    elif keys:
        import sys

        sys.stderr.write(f"note: --provision {len(keys)}: the seeds stay inside this simulated token (no "
                         "seed file was written, so no verifier can import them); add --pskc-out FILE.xml "
                         "to get them\n")
        sys.stderr.flush()
    endpoint: Endpoint = FaultyEndpoint(fw, plan) if plan.active else fw

    on_tick = None
    if args.button_delay is not None:
        delay = float(args.button_delay)
        since: list[float] = []

        def press_later() -> None:  # the simulated user: presses the button `delay` s after asked
            if not fw.waiting_for_button:
                since.clear()
            elif not since:
                since.append(time.monotonic())
            elif time.monotonic() - since[0] >= delay:
                fw.press_button()
                since.clear()
        on_tick = press_later

    runner: Runner = (TcpRunner(endpoint, port=args.tcp, on_tick=on_tick) if args.tcp is not None
                      else PtyRunner(endpoint, on_tick=on_tick))
    try:
        runner.start()
    except OSError as e:
        raise SimError(f"cannot open the simulator's port: {e.strerror or e}") from None
    entry: Path | None = None
    stop = threading.Event()
    got: list[int] = []

    def on_term(signum: int, _frame: Any) -> None:
        got.append(signum)
        stop.set()

    old_term = signal.signal(signal.SIGTERM, on_term)
    old_usr1 = signal.signal(signal.SIGUSR1, lambda *_: runner.run_in_loop(
        lambda: fw.replace_battery(args.new_battery_life)))
    old_usr2 = signal.signal(signal.SIGUSR2, lambda *_: runner.run_in_loop(fw.press_button))
    try:
        entry = register_simulator(runner.url, fw.serial)
        output.server_ready({"port": runner.url, "serial": fw.serial, "slots": args.slots,
                             "provisioned": len(keys), "pskc": str(args.pskc_out) if args.pskc_out else None})
        while not stop.wait(0.5):
            if runner.error is not None:
                raise SimError(f"the simulator stopped: {runner.error}")
    except KeyboardInterrupt:
        got.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGUSR1, old_usr1)
        signal.signal(signal.SIGUSR2, old_usr2)
        runner.stop()
        if entry is not None:
            unregister_simulator(entry)
    output.server_stopped(got[0] if got else None, serial=fw.serial)
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("sim", help="simulated hardware: a serial OTP token on a pty or TCP port")
    ssub = p.add_subparsers(dest="sim_command", metavar="COMMAND")
    s = ssub.add_parser("serve", help="serve a simulated serial token until interrupted")
    add_json(s)
    s.add_argument("--tcp", type=port_number, metavar="PORT", default=None,
                   help="serve on socket://127.0.0.1:PORT (0 = a free port) instead of a pty")
    s.add_argument("--serial", default=None, help="token serial number (default: random TSnnnnnnnn)")
    s.add_argument("--slots", type=int, default=4, help="number of credential slots (1-16, default 4)")
    s.add_argument("--pin", default="123456", help="the admin PIN (default 123456)")
    s.add_argument("--pin-retries", type=int, default=5, help="wrong PINs before it blocks (default 5)")
    s.add_argument("--battery-life", type=nonneg_float, default=None, metavar="S",
                   help="seconds until the clock battery dies (default: never); SIGUSR1 fits a new one")
    s.add_argument("--new-battery-life", type=nonneg_float, default=None, metavar="S",
                   help="life of the cells fitted with SIGUSR1 (default: never dies)")
    s.add_argument("--allow-backwards", action="store_true",
                   help="SET_TIME may move the clock backwards without FORCE")
    s.add_argument("--button", action="store_true",
                   help="GET_CODE waits for a button press (SIGUSR2 presses it)")
    s.add_argument("--button-delay", type=nonneg_float, default=None, metavar="S",
                   help="a simulated user presses the button S seconds after it is asked (implies --button)")
    s.add_argument("--button-timeout", type=nonneg_float, default=10.0, metavar="S",
                   help="give up waiting for the button after S seconds (default 10)")
    g = s.add_argument_group("factory provisioning")
    g.add_argument("--provision", type=int, default=0, metavar="N",
                   help="install random seeds in slots 0..N-1; they leave the token only through "
                        "--pskc-out (without it they stay inside the simulated token, and a line on "
                        "stderr says so)")
    g.add_argument("--hotp", action="store_true", help="provision HOTP instead of TOTP")
    g.add_argument("--algorithm", default="SHA1", choices=["SHA1", "SHA256", "SHA512"])
    g.add_argument("--digits", type=int, default=6, choices=[6, 7, 8])
    g.add_argument("--period", type=int, default=30)
    g.add_argument("--pskc-out", type=Path, metavar="FILE.xml",
                   help="write the seeds as a PSKC (RFC 6030) file")
    g.add_argument("--pskc-psk", metavar="HEX", help="encrypt the PSKC file with this pre-shared AES key")
    f = s.add_argument_group("wire fault injection (seeded)")
    f.add_argument("--corrupt", type=probability, default=0.0, metavar="P", help="flip a byte in a frame")
    f.add_argument("--drop", type=probability, default=0.0, metavar="P", help="lose a frame")
    f.add_argument("--garbage", type=probability, default=0.0, metavar="P", help="send junk before a reply")
    f.add_argument("--latency", type=nonneg_float, default=0.0, metavar="S",
                   help="delay replies by S seconds")
    f.add_argument("--latency-prob", type=probability, default=1.0, metavar="P",
                   help="share of replies delayed")
    f.add_argument("--unplug", type=probability, default=0.0, metavar="P",
                   help="vanish mid-command (pty: the port is gone for good; TCP: the client is cut off)")
    f.add_argument("--fault-seed", type=int, default=0, metavar="N", help="random seed for the faults")
    add_drift_args(s)
    s.set_defaults(func=cmd_serve)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


# --------------------------------------------------------------------------- demo


def _demo_serial(ctx: Any) -> None:
    """A simulated token on a pty: provisioned at the factory, its PSKC imported into the verifier,
    codes read through the driver and verified while its crystal drifts for half a year."""
    import secrets

    from firmware_sim.batch import provision_slots, write_pskc
    from firmware_sim.build import make_firmware
    from firmware_sim.runner import PtyRunner
    from hw.token import SerialToken

    from ..clock import DriftModel, ManualClock
    from ..verifier import SQLiteStore, Verifier
    from ..verifier.pskc_import import import_pskc

    clock = ManualClock(ctx.clock.now())  # half a year passes here; other sections keep their time
    ppm = 40.0
    fw = make_firmware(serial="TS20260001", reference=clock, pin="123456",
                       drift=DriftModel(ppm=ppm, offset=0.4, epoch=clock.now(),
                                        aging_ppm_per_year=3.0))
    keys = provision_slots(fw, 1)
    psk = secrets.token_bytes(16)
    pskc_path = ctx.home / "ts-batch.pskc.xml"
    write_pskc(pskc_path, keys, psk=psk)
    ctx.say(f"factory: token {fw.serial} provisioned; seed file {pskc_path.name} "
            f"(PSKC, AES-128 pre-shared key)")
    with PtyRunner(fw) as runner:
        tok = SerialToken.open(runner.url, pin="123456")
        try:
            info = tok.info()
            ctx.say(f"driver: {info.model} firmware {info.firmware}, serial {info.identity} on {runner.url}")
            store = SQLiteStore(ctx.home / "serial-demo.sqlite3")
            v = Verifier(store, clock=clock)
            imported = import_pskc(v, pskc_path, key=psk)
            ctx.say(f"verifier: imported {sum(k.imported for k in imported)} key(s) from the PSKC file")
            c1 = tok.get_code(0).code
            clock.advance(30)
            c2 = tok.get_code(0).code
            res = v.enable(fw.serial, c1, c2)
            ctx.say(f"enable with two consecutive codes read over the pty: {c1} {c2} -> "
                    f"{'ok' if res.ok else res.reason.value}")
            rows = []
            for week in range(1, 27):
                clock.advance(7 * 86400)
                r = tok.get_code(0)
                out = v.verify(fw.serial, r.code)
                if week % 4 == 2 or not out.ok:
                    est = v.drift(fw.serial)
                    rows.append((week, r.code, f"{r.time_ms / 1000 - clock.now():+.1f}",
                                 "ok" if out.ok else out.reason.value, out.offset_steps,
                                 f"{est.rate_ppm:+.1f}" if est.rate_trusted else "-"))
            from .output import table

            table(["week", "code", "token clock error (s)", "verify", "offset (steps)", "rate (ppm)"], rows,
                  title=f"a {ppm:g} ppm token, one login a week")
            ctx.say(f"the token's clock is now {tok.get_time().time_ms / 1000 - clock.now():+.0f} s ahead; "
                    f"the verifier followed it (estimated rate {v.drift(fw.serial).rate_ppm:+.1f} ppm)")
            store.close()
        finally:
            tok.close()


DEMO_SECTIONS = [(40, "serial hardware token: pty, PSKC, driver, drift", _demo_serial)]
