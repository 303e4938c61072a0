"""``tokensim bench``: verification throughput against pyotp and the CPU's SHA-1 limit, in one run.

    tokensim bench [--quick] [--json] [--plot FILE.png] [--no-suites]

Everything is measured side by side in the same process (contributor suites in child
processes), so the ratios hold even on a busy machine; absolute numbers move with the load.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import InputError
from . import output


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("bench", help="benchmark the verification hot loop (vs pyotp and the SHA-1 limit)",
                       description="Verification throughput of the hot loop against pyotp and this CPU's "
                                   "SHA-1 limit, measured side by side in one run.")
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes (core measurements ~8 s; suites run in their own quick mode)")
    p.add_argument("--json", action="store_true", help="print one JSON object (progress stays on stderr)")
    p.add_argument("--plot", metavar="FILE.png", help="also sweep batch size x threads and plot it")
    p.add_argument("--markdown", metavar="FILE.md", help="write the results page (docs/BENCHMARKS.md)")
    p.add_argument("--no-suites", action="store_true", help="skip the contributed bench/*_bench.py suites")
    p.add_argument("--suite", action="append", metavar="NAME",
                   help="run only this contributed suite (repeatable; e.g. --suite fido2 --suite serial)")
    p.add_argument("--service", action="store_true",
                   help="run the HTTP verification-service suite (1/2/4 service processes on PostgreSQL "
                        "and SQLite; slow, so not part of the default run)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--scale", type=float, default=1.0, metavar="F",
                   help="multiply every size and duration by F (e.g. 0.01 for a smoke run)")
    p.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    from ..benchmark import runner

    if not 0 < args.scale <= 10:
        raise InputError("--scale must be in (0, 10]")
    if args.plot:
        try:
            import matplotlib  # noqa: F401  (fail before a long run, not after it)
        except ImportError:
            raise InputError("--plot needs matplotlib: pip install 'tokensim[plot]'") from None
    sizes = (runner.QUICK if args.quick else runner.FULL).scaled(args.scale)
    if args.suite:
        known = sorted(p.stem.removesuffix("_bench") for p in runner.discover_suites())
        unknown = [name for name in args.suite if name not in known]
        if unknown:
            raise InputError(f"no bench suite named {', '.join(map(repr, unknown))} (suites: "
                             + (", ".join(known) or "none: contributed suites run from a source checkout")
                             + ")")
    if args.service:
        args.suite = [*(args.suite or []), "service"]
        if args.no_suites:
            raise InputError("--service runs a suite; it cannot go with --no-suites")
    show = not args.no_progress and sys.stderr.isatty()
    if show:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description:<42}"), BarColumn(), TimeElapsedColumn(),
                      console=output.err_console, transient=True) as bar:
            task = bar.add_task("bench", total=1.0)
            result = runner.run(args.quick, sizes, suites=not args.no_suites, sweep=bool(args.plot),
                                only_suites=args.suite,
                                progress=lambda label, done: bar.update(task, description=label,
                                                                        completed=done))
    else:
        result = runner.run(args.quick, sizes, suites=not args.no_suites, sweep=bool(args.plot),
                            only_suites=args.suite)
    if args.plot:
        from ..benchmark.plot import plot

        result["plot"] = str(plot(result, args.plot))
    if args.markdown:
        from ..benchmark.report import write

        command = "tokensim bench" + "".join(f" {a}" for a in sys.argv[2:]) if sys.argv[1:2] == ["bench"] \
            else "tokensim bench"
        result["markdown"] = str(write(result, args.markdown, command, result.get("plot")))
    if args.json:
        output.print_json(result)
    else:
        print_report(result)
    return 0


def _rate(v: Any) -> str:
    if not isinstance(v, int | float):
        return str(v)
    return f"{v / 1e6:.2f} M/s" if v >= 1e5 else f"{v:,.0f} /s"


def print_report(r: dict[str, Any]) -> None:
    from ..benchmark.runner import TARGETS

    output.kv({"backend": r["backend"], "cpu": f"{r['cpu']} ({r['cores']} usable cores)",
               "python": r["python"], "load before run": r.get("load_before", "")}, title="machine")
    rows = [
        ("batch verify ±1, worst case, 1 thread", _rate(r.get("batch_verify_per_s"))),
        ("batch verify ±1, centre hit, 1 thread", _rate(r.get("batch_verify_hit_per_s"))),
        (f"batch verify ±1, worst case, {r['threads']} threads", _rate(r.get("batch_verify_threads_per_s"))),
        (f"batch verify ±1, centre hit, {r['threads']} threads",
         _rate(r.get("batch_verify_hit_threads_per_s"))),
        ("pyotp TOTP.verify(valid_window=1), miss", _rate(r.get("pyotp_verify_per_s"))),
        ("pyotp TOTP.verify(valid_window=1), hit", _rate(r.get("pyotp_verify_hit_per_s"))),
        ("SHA-1 limit (hashlib, 6 blocks per ±1 miss)", _rate(r.get("sha1_limit_verify_per_s"))),
        ("pure-Python fallback, worst case", _rate(r.get("python_batch_verify_per_s"))),
        ("resync ±24 h (5761 steps), median", f"{r.get('resync_24h_ms', float('nan')):.3f} ms"),
        ("stateful verify, SQLite (durable, replay-protected)", _rate(r.get("stateful_verify_per_s"))),
        ("stateful verify, SQLite, verify_many in 100s (group commit)",
         _rate(r.get("stateful_verify_batch_per_s"))),
        ("stateful verify, memory store", _rate(r.get("stateful_memory_verify_per_s"))),
        ("write + fsync of 4 KiB (temp dir), median", f"{r.get('fsync_ms', float('nan')):.3f} ms"),
        (f"cores used while measuring 1 / {r['threads']} threads",
         f"{r.get('one_thread_cores_used') or 0:.2f} / {r.get('threads_cores_used') or 0:.2f}"),
    ]
    output.table(["measurement", "result"], rows, title="tokensim bench" + (" --quick" if r["quick"] else ""))
    met = r.get("targets_met", {})

    def ratio(key: str) -> str:
        v = r.get(key)
        return f"{v:.2f}x" if isinstance(v, int | float) else "n/a"

    trows = [(desc, ratio(key), {True: "met", False: "MISSED", None: "n/a"}[met.get(key)])
             for key, (desc, _) in TARGETS.items()]
    trows.append((f"(SHA-NI hashing alone, {r['threads']} threads vs 1)", ratio("hash_only_threads_vs_one"),
                  ""))
    trows.append(("resync ±24 h <= 2 ms", f"{r.get('resync_24h_ms', float('nan')):.3f} ms",
                  {True: "met", False: "MISSED", None: "n/a"}[met.get("resync_24h_ms")]))
    output.table(["target", "measured", ""], trows, title="ratios measured in this run")
    extra = {k: r[k] for k in r.get("suite_keys", []) if k in r}
    if extra:
        output.kv(extra, title="contributed suites")
    if "plot" in r:
        output.console.print(f"plot written to {r['plot']}")


def _demo(ctx: Any) -> None:
    """A two-second taste of ``tokensim bench``: the same measurements on small sizes."""
    from tokens.hotloop import BACKEND

    from ..benchmark import measure

    w = measure.make_workload(20_000, 500)
    rates = measure.batch_rates(w, hit=False, threads=[1], min_time=0.2)
    pyotp = measure.pyotp_rate(w, hit=False, n=1000, min_time=0.2)
    limit = measure.sha1_limit(8 << 20) / 6
    resync, _ = measure.resync_ms(10)
    ctx.say(f"hot loop backend: {BACKEND}; 20,000 TOTP codes, all wrong, each checked against a ±1 window")
    ctx.say(f"  verify_batch, 1 thread:    {_rate(rates[1])}  ({rates[1] / pyotp:,.0f}x pyotp, "
            f"{rates[1] / limit:.0%} of this CPU's one-stream SHA-1 limit)")
    ctx.say(f"  pyotp TOTP.verify:         {_rate(pyotp)}")
    ctx.say(f"  resync scan over ±24 h:    {resync:.2f} ms")
    ctx.say("  full run: tokensim bench [--quick] [--json] [--plot FILE.png]  (docs/BENCHMARKS.md)")


DEMO_SECTIONS = [(70, "Verification throughput (tokensim bench)", _demo)]
