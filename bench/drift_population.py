"""A population of drifting TOTP tokens over years: tokensim's verifier against peer verifier models.

Every token has a 32.768 kHz crystal simulated by :class:`tokens.clock.DriftingClock`: a fixed
frequency error (sd 15 ppm), linear aging (sd 3 ppm/year), a seasonal pocket temperature on the
-0.034 ppm/°C² parabola around 25 °C, and a factory offset (sd 15 s).  Each token is used on four
schedules (daily, weekly, monthly, quarterly — each login at a random time of day, the interval
jittered).  At a login the user reads the code and submits it 2-25 s later.  A refused code is a
*first-try reject*; the user then resynchronises with two consecutive codes (reads one, waits for
the next, submits 2-25 s after it appeared), which is also how every token is enrolled.

Verifier models, each fed exactly the same codes at the same times:

- ``tokensim``: :class:`tokens.verifier.Verifier` itself (default policy, real codes, memory store);
- ``privacyidea``: offset tracking (timeShift = last matched offset), 6 steps back / 5 ahead;
- ``offset+-1``: the same offset tracking with a ±1 step window;
- ``freeipa``: a fixed ±9 step window (±300 s) around an offset changed only by a resync;
- ``libpam``: google-authenticator-libpam, WINDOW_SIZE 3 (±1) with TIME_SKEW learnt only from
  resyncs (its three-code skew samples), otherwise fixed.

Reported per schedule class and model: logins, first-try rejects (FRR), resyncs per token-year, the
mean window (steps) at login, the mean window at random calendar moments (what an attacker who
picks the moment meets; 4 moments per token-month) and the widest window seen.

    python bench/drift_population.py [--seed N] [--tokens N] [--years Y] [--quick] [--json]
                                     [--plot FILE.png] [--class C] [--constant-crystals]
                                     [--policy FIELD=NUMBER]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tokens.clock import DriftingClock, DriftModel, ManualClock, SinusoidalTemperature
from tokens.errors import InputError
from tokens.hotloop import PreparedKey
from tokens.verifier import MemoryStore, Policy, Verifier

DAY = 86400.0
YEAR = 365.25 * DAY
PERIOD = 30
START = 1_798_761_600.0  # 2027-01-01T00:00:00Z
CLASSES = {"daily": 1.0, "weekly": 7.0, "monthly": 30.44, "quarterly": 91.31}  # mean interval, days
JITTER = {"daily": 0.0, "weekly": 1.0, "monthly": 3.0, "quarterly": 7.0}  # ± days on each interval
MODELS = ("tokensim", "privacyidea", "offset+-1", "freeipa", "libpam")
CALENDAR_PER_MONTH = 4  # random moments per token-month at which the window is sampled


# ---------------------------------------------------------------- the population


@dataclass(frozen=True)
class Token:
    serial: str
    secret: bytes
    model: DriftModel

    def clock(self) -> DriftingClock:
        return DriftingClock(model=self.model, reference=ManualClock(self.model.epoch))


def population(seed: int, n: int, constant: bool = False) -> list[Token]:
    """``n`` tokens, deterministic for ``seed``; ``constant``: the same crystals without aging and
    temperature (a fixed frequency error and the factory offset only)."""
    out = []
    for i in range(n):
        rng = random.Random(f"drift-population/{seed}/{i}")
        epoch = START + rng.uniform(0, 30 * DAY)
        temp = SinusoidalTemperature(mean=rng.gauss(22.0, 3.0), amplitude=rng.uniform(4.0, 10.0), period=YEAR,
                                     phase=START + 91 * DAY + rng.gauss(0, 15 * DAY))  # warmest in July
        model = DriftModel(offset=max(-60.0, min(60.0, rng.gauss(0, 15.0))), ppm=rng.gauss(0, 15.0),
                           epoch=epoch, aging_ppm_per_year=rng.gauss(0, 3.0), temperature=temp)
        if constant:
            model = DriftModel(offset=model.offset, ppm=model.ppm, epoch=model.epoch)
        out.append(Token(f"T{i:04d}", rng.randbytes(20), model))
    return out


def schedule(token: Token, cls: str, seed: int, years: float) -> list[float]:
    """Reference times the user reads a code at, after enrollment at the token's epoch."""
    rng = random.Random(f"drift-schedule/{seed}/{token.serial}/{cls}")
    end = token.model.epoch + years * YEAR
    mean, jit = CLASSES[cls], JITTER[cls]
    day0 = math.floor(token.model.epoch / DAY)
    times: list[float] = []
    d = float(mean)
    while True:
        day = day0 + round(d + rng.uniform(-jit, jit))
        t = day * DAY + rng.uniform(7 * 3600, 22 * 3600)  # some time during the user's day (UTC)
        if t > end:
            return times
        if t > token.model.epoch + 600:
            times.append(t)
        d += mean


# ---------------------------------------------------------------- peer models (step level)


@dataclass
class OffsetTracker:
    """A peer verifier reduced to its documented window and drift rules."""

    behind: int
    ahead: int
    track: bool  # move the offset on every success (privacyIDEA timeShift) or only on resync
    offset: int = 0
    last: int = -1

    def window(self, t: float) -> tuple[int, int]:
        c = math.floor(t / PERIOD) + self.offset
        return c - self.behind, c + self.ahead

    def verify(self, step: int, t: float) -> bool:
        lo, hi = self.window(t)
        if lo <= step <= hi and step > self.last:
            self.last = step
            if self.track:
                self.offset = step - math.floor(t / PERIOD)
            return True
        return False

    def sync(self, step: int, t: float) -> None:  # enrollment and resync: two consecutive codes found
        self.offset = step - math.floor(t / PERIOD)
        self.last = step


def peers() -> dict[str, OffsetTracker]:
    return {"privacyidea": OffsetTracker(6, 5, True), "offset+-1": OffsetTracker(1, 1, True),
            "freeipa": OffsetTracker(9, 9, False), "libpam": OffsetTracker(1, 1, False)}


# ---------------------------------------------------------------- the simulation


@dataclass
class Tally:
    logins: int = 0
    rejects: int = 0
    resyncs: int = 0
    token_years: float = 0.0
    login_windows: list[int] = field(default_factory=list)
    calendar_windows: list[int] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        lw, cw = self.login_windows, self.calendar_windows
        return {"logins": self.logins, "first_try_rejects": self.rejects,
                "frr": self.rejects / self.logins if self.logins else 0.0,
                "resyncs_per_token_year": self.resyncs / self.token_years if self.token_years else 0.0,
                "mean_window_login": sum(lw) / len(lw) if lw else 0.0,
                "mean_window_calendar": sum(cw) / len(cw) if cw else 0.0,
                "max_window": max([*lw, *cw], default=0)}


def _step_change(clk: DriftingClock, t: float) -> float:
    """The first reference time after ``t`` at which the token shows its next step."""
    target = (math.floor(clk.device_time(t) / PERIOD) + 1) * PERIOD
    u = t + (target - clk.device_time(t))
    for _ in range(4):  # the clock runs at 1 ± 1e-4: Newton converges at once
        u += (target - clk.device_time(u)) / (1 + clk.frequency_error_ppm(u) * 1e-6)
    return u + 1e-6


def simulate_token(token: Token, cls: str, seed: int, years: float, policy: Policy,
                   tallies: dict[str, Tally], trace: list[dict[str, float]] | None = None) -> None:
    """One token on one schedule, through every model; adds to ``tallies``."""
    rng = random.Random(f"drift-user/{seed}/{token.serial}/{cls}")
    clk = token.clock()
    key = PreparedKey(token.secret)

    def step_at(t: float) -> int:
        return math.floor(clk.device_time(t) / PERIOD)

    def two_codes(t: float) -> tuple[int, float]:
        """Read a code at ``t``, wait for the next one: (step of the second, submit time)."""
        change = _step_change(clk, t)
        return step_at(change), change + rng.uniform(2, 25)

    v = Verifier(MemoryStore(), policy)
    others = peers()
    s2, t_enroll = two_codes(token.model.epoch)
    v.register(token.serial, token.secret, at=token.model.epoch)
    assert v.enable(token.serial, key.code(s2 - 1, 6), key.code(s2, 6), at=t_enroll).ok
    for m in others.values():
        m.sync(s2, t_enroll)
    logins = schedule(token, cls, seed, years)
    end = token.model.epoch + years * YEAR
    moments = sorted(rng.uniform(t_enroll, end) for _ in range(round(CALENDAR_PER_MONTH * years * 12)))
    for tally in tallies.values():
        tally.token_years += (end - t_enroll) / YEAR
    mi = 0

    def calendar_until(t: float) -> None:
        nonlocal mi
        while mi < len(moments) and moments[mi] < t:
            lo, hi = v.window(token.serial, at=moments[mi])
            tallies["tokensim"].calendar_windows.append(hi - lo + 1)
            if trace is not None:
                _trace(trace, v, token, clk, moments[mi], lo, hi)
            for name, m in others.items():
                plo, phi = m.window(moments[mi])
                tallies[name].calendar_windows.append(phi - plo + 1)
            mi += 1

    for t_read in logins:
        t_sub = t_read + rng.uniform(2, 25)
        calendar_until(t_sub)
        step = step_at(t_read)
        code = key.code(step, 6)
        tk = tallies["tokensim"]
        tk.logins += 1
        res = v.verify(token.serial, code, at=t_sub)
        assert res.window is not None  # the window verify() looked at
        lo, hi = res.window
        tk.login_windows.append(hi - lo + 1)
        if trace is not None:
            _trace(trace, v, token, clk, t_sub, lo, hi, login=1.0, ok=float(res.ok))
        if not res.ok:
            tk.rejects += 1
            tk.resyncs += 1
            s2, t2 = two_codes(t_sub + 5)
            sync = v.resync(token.serial, key.code(s2 - 1, 6), key.code(s2, 6), at=t2)
            assert sync.ok, (token.serial, cls, sync)
        for name, m in others.items():
            tally = tallies[name]
            tally.logins += 1
            plo, phi = m.window(t_sub)
            tally.login_windows.append(phi - plo + 1)
            if not m.verify(step, t_sub):
                tally.rejects += 1
                tally.resyncs += 1
                s2, t2 = two_codes(t_sub + 5)
                m.sync(s2, t2)
    calendar_until(math.inf)


def _trace(trace: list[dict[str, float]], v: Verifier, token: Token, clk: DriftingClock, t: float,
           lo: int, hi: int, login: float = 0.0, ok: float = 1.0) -> None:
    est = v.drift(token.serial, at=t)
    base = t / PERIOD
    trace.append({"t": t, "lo": lo - base, "hi": hi + 1 - base, "offset": est.offset, "sd": est.offset_sd,
                  "true": clk.error_at(t) / PERIOD, "login": login, "ok": ok})


def run(seed: int = 1, tokens: int = 200, years: float = 3.0, classes: tuple[str, ...] = tuple(CLASSES),
        policy: Policy | None = None, constant: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """{class: {model: row}} for the population of ``seed``."""
    pol = policy or Policy()
    pop = population(seed, tokens, constant)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cls in classes:
        tallies = {name: Tally() for name in MODELS}
        for token in pop:
            simulate_token(token, cls, seed, years, pol, tallies)
        out[cls] = {name: tallies[name].row() for name in MODELS}
    return out


def goal(result: dict[str, dict[str, dict[str, Any]]]) -> dict[str, bool]:
    """Per class: no more first-try rejects than the best peer, calendar-mean window <= 4, max <= 12."""
    met = {}
    for cls, rows in result.items():
        best = min(r["first_try_rejects"] for name, r in rows.items() if name != "tokensim")
        ts = rows["tokensim"]
        met[cls] = (ts["first_try_rejects"] <= best and ts["mean_window_calendar"] <= 4.0
                    and ts["max_window"] <= 12)
    return met


def markdown(result: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = ["| class | verifier | FRR (first try) | resyncs / token-year | mean window at login | "
             "mean window, calendar | widest |", "|---|---|---|---|---|---|---|"]
    for cls, rows in result.items():
        for name, r in rows.items():
            frr = f"{100 * r['frr']:.2f} % ({r['first_try_rejects']}/{r['logins']})"
            lines.append(f"| {cls} | {name} | {frr} | {r['resyncs_per_token_year']:.3f} | "
                         f"{r['mean_window_login']:.2f} | {r['mean_window_calendar']:.2f} | "
                         f"{r['max_window']} |")
    return "\n".join(lines)


def plot_token(path: str, seed: int = 1, index: int = 0, years: float = 3.0) -> str:
    """Window and predicted offset ± 2.8sd over time for one quarterly token (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    token = population(seed, index + 1)[index]
    trace: list[dict[str, float]] = []
    tallies = {name: Tally() for name in MODELS}
    simulate_token(token, "quarterly", seed, years, Policy(), tallies, trace=trace)
    trace.sort(key=lambda r: r["t"])
    days = [(r["t"] - token.model.epoch) / DAY for r in trace]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True, height_ratios=[2, 1])
    ax.fill_between(days, [r["lo"] for r in trace], [r["hi"] for r in trace], step="post", alpha=0.25,
                    label="accepted window (steps)")
    ax.plot(days, [r["offset"] for r in trace], lw=1, label="predicted offset")
    ax.fill_between(days, [r["offset"] - 2.81 * r["sd"] for r in trace],
                    [r["offset"] + 2.81 * r["sd"] for r in trace], alpha=0.25,
                    label="99.5 % of the prediction")
    ax.plot(days, [r["true"] for r in trace], "k--", lw=1, label="true offset")
    logins = [(d, r) for d, r in zip(days, trace, strict=True) if r["login"]]
    ax.plot([d for d, r in logins if r["ok"]], [r["true"] for d, r in logins if r["ok"]], "go", ms=4,
            label="login accepted")
    ax.plot([d for d, r in logins if not r["ok"]], [r["true"] for d, r in logins if not r["ok"]], "rx", ms=7,
            label="first-try reject")
    ax.set_ylabel("steps (device - verifier)")
    ax.legend(fontsize=8, loc="best")
    ax2.step(days, [round(r["hi"] - r["lo"]) for r in trace], where="post", lw=1, label="window (steps)")
    ax2.plot(days, [r["sd"] for r in trace], lw=1, label="standard error of the offset (steps)")
    ax2.plot(days, [abs(r["offset"] - r["true"]) for r in trace], lw=0.8, alpha=0.7,
             label="|predicted - true| (steps)")
    ax2.set_ylim(0, 13)
    ax2.legend(fontsize=8, loc="upper right")
    ax2.set_xlabel("days since enrollment")
    ax.set_title(f"quarterly token {token.serial} (seed {seed}): {token.model.ppm:+.1f} ppm, "
                 f"aging {token.model.aging_ppm_per_year:+.1f} ppm/yr, seasonal temperature")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _policy(pairs: list[str]) -> Policy:
    """Policy(**{field: number}) from FIELD=NUMBER strings; ValueError with a one-line reason."""
    fields = {f.name: f.type for f in dataclasses.fields(Policy)}
    kw: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in fields:
            raise ValueError(f"--policy {pair!r}: expected FIELD=NUMBER with a Policy field")
        try:
            kw[name] = int(value) if fields[name] in (int, "int") else float(value)
        except ValueError:
            raise ValueError(f"--policy {pair!r}: {value!r} is not a number") from None
    try:
        return Policy(**kw)
    except InputError as e:
        raise ValueError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, action="append", help="population seed (repeatable; default 1)")
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--years", type=float, default=3.0)
    p.add_argument("--quick", action="store_true", help="20 tokens, one year")
    p.add_argument("--json", action="store_true")
    p.add_argument("--plot", metavar="FILE.png", help="plot window and error of a quarterly token")
    p.add_argument("--class", dest="classes", action="append", choices=tuple(CLASSES),
                   help="run only this schedule class (repeatable; default all four)")
    p.add_argument("--constant-crystals", action="store_true",
                   help="no aging, no temperature: each crystal keeps its frequency error")
    p.add_argument("--policy", action="append", default=[], metavar="FIELD=NUMBER",
                   help="a verifier Policy field for tokensim, e.g. rare_use_coverage=0.995 (repeatable)")
    args = p.parse_args(argv)
    tokens, years = (20, 1.0) if args.quick else (args.tokens, args.years)
    try:
        policy = _policy(args.policy)
    except ValueError as e:
        p.error(str(e))
    classes = tuple(args.classes or CLASSES)
    for seed in args.seed or [1]:
        started = time.perf_counter()
        result = run(seed, tokens, years, classes, policy, args.constant_crystals)
        if args.json:
            print(json.dumps({"seed": seed, "tokens": tokens, "years": years, "result": result,
                              "goal": goal(result)}))
        else:
            print(f"\nseed {seed}: {tokens} tokens x {years:g} years per class "
                  f"({time.perf_counter() - started:.0f} s); goal met: {goal(result)}\n")
            print(markdown(result))
    if args.plot:
        print(f"plot written to {plot_token(args.plot, (args.seed or [1])[0], years=years)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
