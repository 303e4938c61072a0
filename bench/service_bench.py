"""Verification-service benchmark: verifies/s and latency through HTTP, 1/2/4 service processes,
PostgreSQL (a throw-away cluster started here) and SQLite for comparison.

Every request is an *accepted* verify (a fresh step of one of many credentials), the expensive
path: one read transaction (credential + drift history), the HMAC window, one write transaction
(compare-and-set of the last step, history insert and trim) that waits for the WAL flush.

Clients are separate processes (this file run with ``--client``), each with a few threads and one
keep-alive connection per thread, so the load generator does not share a GIL with the server.
Alongside the rates it samples the CPU time of the service processes, the PostgreSQL server
processes and the clients, which is how the bottleneck is named, and times the store alone
(Verifier.verify in-process, no HTTP) for the per-request transaction cost.

    python bench/service_bench.py [--quick]         # prints one JSON object
    tokensim bench --service                        # the same through the bench runner

Not part of the default ``tokensim bench`` run (``DEFAULT = False``): it takes a minute or two.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SUITE_NAME = "service"
DEFAULT = False  # the runner runs this suite only when asked (tokensim bench --service)

SECRET = b"12345678901234567890"
START = 1_767_225_600.0
STEP0 = int(START) // 30
CLIENT_PROCS = 4
THREADS_PER_CLIENT = 4  # 16 concurrent requests in flight
CREDS = 64
BATCH = 16  # codes per request in the batch configuration


# ------------------------------------------------------------------ client side (stdlib only)
def _hotp(step: int) -> str:
    d = hmac.new(SECRET, struct.pack(">Q", step), hashlib.sha1).digest()
    o = d[-1] & 15
    return f"{(struct.unpack('>I', d[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _client_thread(url: str, serials: list[str], warm_at: float, start_at: float, stop_at: float,
                   out: dict[str, Any], lock: threading.Lock, batch: int = 0) -> None:
    """Verify fresh codes until ``stop_at``: one per request, or ``batch`` per /v1/check/batch."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
    lat: list[float] = []
    ok = fail = err = 0
    k = {s: 1 for s in serials}
    while time.time() < warm_at:
        time.sleep(0.001)
    i = 0
    while (now := time.time()) < stop_at:
        counted = now >= start_at  # requests before start_at only warm up (pools, caches)
        items = []
        for _ in range(max(1, batch)):
            serial = serials[i % len(serials)]
            i += 1
            n = k[serial]
            k[serial] = n + 1
            items.append({"serial": serial, "code": _hotp(STEP0 + n), "at": START + 30 * n})
        path, doc = ("/v1/check/batch", {"items": items}) if batch else ("/v1/check", items[0])
        body = json.dumps(doc).encode()
        t = time.perf_counter()
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            res = json.loads(conn.getresponse().read())
            results = res["results"] if batch else [res]
            if counted:
                lat.append((time.perf_counter() - t) * 1000.0)
                good = sum(1 for r in results if r.get("ok"))
                ok += good
                fail += len(results) - good
        except (OSError, http.client.HTTPException, ValueError):
            err += 1
            conn.close()
            conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
    conn.close()
    with lock:
        out["lat"].extend(lat)
        out["ok"] += ok
        out["fail"] += fail
        out["errors"] += err


def client_main(argv: list[str]) -> None:
    """``--client URL WARM_AT START_AT STOP_AT THREADS SERIAL,... [BATCH]``: prints one JSON line."""
    url, serials = argv[0], argv[5]
    batch = int(argv[6]) if len(argv) > 6 else 0
    warm_at, start_at, stop_at, threads = float(argv[1]), float(argv[2]), float(argv[3]), int(argv[4])
    names = serials.split(",")
    out: dict[str, Any] = {"lat": [], "ok": 0, "fail": 0, "errors": 0}
    lock = threading.Lock()
    ts = [threading.Thread(target=_client_thread,
                           args=(url, names[j::threads], warm_at, start_at, stop_at, out, lock, batch))
          for j in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out["cpu_s"] = sum(os.times()[:2])
    sys.stdout.write(json.dumps(out) + "\n")


# ------------------------------------------------------------------ process CPU accounting
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and its direct children (the service workers / the PG backends)."""
    return {p: _cpu_seconds(p) for p in [root, *_children(root)]}


def _runqueue_wait_s(root: int) -> dict[int, float]:
    """Seconds the threads of ``root`` and its children spent runnable but waiting for a CPU
    (/proc/PID/task/TID/schedstat, second field), per process."""
    out: dict[int, float] = {}
    for pid in [root, *_children(root)]:
        total = 0.0
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                try:
                    total += int((task / "schedstat").read_text().split()[1]) / 1e9
                except (OSError, IndexError, ValueError):
                    continue
        except OSError:
            continue
        out[pid] = total
    return out


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(v - before.get(p, 0.0) for p, v in after.items())


# ------------------------------------------------------------------ one configuration
def _start_service(db: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    import select

    cmd = [sys.executable, "-m", "tokens", "verifier", "serve", "--port", "0", "--db", db,
           "--trust-client-time",
           "--workers", str(workers), "--log-level", "error"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    buf = b""
    while b"\n" not in buf:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"service on {db.split(':')[0]} did not start")
        if select.select([proc.stdout], [], [], 0.5)[0]:
            buf += os.read(proc.stdout.fileno(), 4096)
    return proc, json.loads(buf.split(b"\n")[0])["url"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _post(url: str, path: str, body: dict[str, Any]) -> Any:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=30)
    try:
        conn.request("POST" if body else "GET", path, body=json.dumps(body).encode() if body else None,
                     headers={"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def _wal_stats(url: str) -> dict[str, float]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
    assert row is not None
    return {"wal_sync": float(row[0]), "wal_sync_time": float(row[1])}


def fsync_ms(directory: str, n: int = 50) -> float:
    """Median time of write(4 KiB) + fsync on this file system: the floor under every commit."""
    path = Path(directory) / "fsync-probe"
    times = []
    with open(path, "wb") as f:
        for _ in range(n):
            f.write(b"x" * 4096)
            f.flush()
            t = time.perf_counter()
            os.fsync(f.fileno())
            times.append((time.perf_counter() - t) * 1000.0)
    path.unlink()
    return round(sorted(times)[n // 2], 3)


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def run_config(db: str, workers: int, seconds: float, pg_pid: int | None, tag: str,
               batch: int = 0) -> dict[str, Any]:
    """One service configuration under load; ``batch`` > 0 sends that many codes per request.
    Latencies are per HTTP request; rates count accepted codes."""
    proc, url = _start_service(db, workers)
    try:
        b32 = base64.b32encode(SECRET).decode()
        serials = [f"{tag}-{i}" for i in range(CREDS)]
        for s in serials:
            r = _post(url, "/v1/enroll", {"serial": s, "secret": b32, "code1": _hotp(STEP0 - 1),
                                          "code2": _hotp(STEP0), "at": START})
            if not r.get("ok"):
                raise RuntimeError(f"enroll failed: {r}")
        warm = 1.0
        start_at = time.time() + 1.5 + warm  # clients start up, then warm up (pools fill)
        stop_at = start_at + seconds
        me = Path(__file__).resolve()
        clients = [subprocess.Popen([sys.executable, "-I", str(me), "--client", url, str(start_at - warm),
                                     str(start_at), str(stop_at), str(THREADS_PER_CLIENT),
                                     ",".join(serials[c::CLIENT_PROCS]), str(batch)],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                   for c in range(CLIENT_PROCS)]
        while time.time() < start_at:
            time.sleep(0.005)
        svc0, svcw0 = _tree_cpu(proc.pid), _runqueue_wait_s(proc.pid)
        pg0 = _tree_cpu(pg_pid) if pg_pid else {}
        wal0 = _wal_stats(db) if pg_pid else {}
        t0 = time.time()
        outs = []
        for c in clients:
            stdout, _ = c.communicate(timeout=seconds + warm + 60)
            outs.append(json.loads(stdout.strip().splitlines()[-1]))
        svc1, svcw1 = _tree_cpu(proc.pid), _runqueue_wait_s(proc.pid)
        pg1 = _tree_cpu(pg_pid) if pg_pid else {}
        time.sleep(1.1)  # backends publish their WAL counters at most once a second
        wal1 = _wal_stats(db) if pg_pid else {}
        wall = max(stop_at - t0, 1e-9)
        health = _post(url, "/health", {})
    finally:
        _stop(proc)
    lat = sorted(x for o in outs for x in o["lat"])
    ok = sum(o["ok"] for o in outs)
    wal: dict[str, Any] = {}
    if pg_pid:
        # one durable commit per accepted verify (the read transaction writes no WAL)
        syncs = wal1["wal_sync"] - wal0["wal_sync"]
        sync_ms = wal1["wal_sync_time"] - wal0["wal_sync_time"]
        wal = {"wal_flushes_per_s": round(syncs / wall, 1),
               "commits_per_wal_flush": round(ok / syncs, 2) if syncs else 0.0,
               "wal_flush_ms": round(sync_ms / syncs, 3) if syncs else 0.0,
               "wal_flush_busy": round(sync_ms / 1000.0 / wall, 2)}
    return {**wal,
        "verifies_per_s": round(ok / seconds, 1),
        "p50_ms": round(_percentile(lat, 0.50), 2), "p99_ms": round(_percentile(lat, 0.99), 2),
        "rejected": sum(o["fail"] for o in outs), "errors": sum(o["errors"] for o in outs),
        "service_cpu_cores": round(_delta(svc0, svc1) / wall, 2),
        "postgres_cpu_cores": round(_delta(pg0, pg1) / wall, 2) if pg_pid else 0.0,
        "service_cpu_ms_per_verify": round(_delta(svc0, svc1) * 1000.0 / max(ok, 1), 3),
        # time the service's threads were ready to run but had no CPU: > 0 means CPU-starved
        "service_runqueue_wait_ms_per_verify": round(_delta(svcw0, svcw1) * 1000.0 / max(ok, 1), 3),
        "postgres_cpu_ms_per_verify": round(_delta(pg0, pg1) * 1000.0 / max(ok, 1), 3) if pg_pid else 0.0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "client_cpu_s": round(sum(o["cpu_s"] for o in outs), 2),
        "pool_wait_ms": health.get("pool", {}).get("requests_wait_ms", 0),
    }


def store_only(db: str, seconds: float) -> dict[str, float]:
    """Verifier.verify in this process, no HTTP: per-verify wall time (the store's round trips and
    commit included) and this process's CPU per verify (verifier logic + driver)."""
    from tokens.verifier import Verifier
    from tokens.verifier.stores import open_store

    store = open_store(db)
    try:
        v = Verifier(store)
        v.register("S", SECRET, at=START)
        assert v.enable("S", _hotp(STEP0 - 1), _hotp(STEP0), at=START).ok
        n = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n += 1  # (computing the code costs ~3 us, noise next to a verify)
            assert v.verify("S", _hotp(STEP0 + n), at=START + 30 * n).ok
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        store.close()
    return {"per_s": round(n / dt, 1), "ms": round(dt / n * 1000.0, 3), "cpu_ms": round(cpu / n * 1000.0, 3)}


def _scale() -> float:
    """``tokensim bench --scale F`` reaches the suite as $TOKENSIM_BENCH_SCALE."""
    try:
        f = float(os.environ.get("TOKENSIM_BENCH_SCALE", "1"))
    except ValueError:
        return 1.0
    return f if 0 < f <= 10 else 1.0


def best_durable(out: dict[str, float | int | str]) -> dict[str, float | int | str]:
    """Summary keys: the durable configuration (PostgreSQL or SQLite, not memory) with the least
    service CPU per accepted verify, its rate and its CPU."""
    best: tuple[float, str] | None = None
    for k, v in out.items():
        if k.endswith("_service_cpu_ms_per_verify") and isinstance(v, int | float) and v > 0 \
                and not k.startswith("service_memory_"):
            cfg = k.removesuffix("_service_cpu_ms_per_verify")
            if best is None or v < best[0]:
                best = (float(v), cfg)
    if best is None:
        return {}
    cfg = best[1]
    return {"service_best_config": cfg.removeprefix("service_"),
            "service_best_cpu_ms_per_verify": best[0],
            "service_best_verifies_per_s": out.get(f"{cfg}_verifies_per_s", 0.0)}


def measure_service(quick: bool) -> dict[str, float | int | str]:
    from tokens.service.pgcluster import TempPostgres

    scale = _scale()
    small = quick or scale < 0.5
    seconds = max(0.5, (2.5 if quick else 8.0) * scale)
    store_seconds = max(0.2, (1.0 if quick else 3.0) * scale)
    workers_list = (1,) if scale < 0.5 else (1, 4) if quick else (1, 2, 4)
    out: dict[str, float | int | str] = {
        "service_clients": CLIENT_PROCS * THREADS_PER_CLIENT, "service_credentials": CREDS,
        "service_seconds_per_config": seconds, "service_load_before": round(os.getloadavg()[0], 2),
    }
    with TempPostgres(max_connections=100, settings={"track_wal_io_timing": "on"}) as pg, \
            tempfile.TemporaryDirectory() as tmp:
        os.environ["TOKENSIM_HOME"] = tmp  # the seal key the service processes create lives here
        pg_url = pg.create_database("bench")
        pg_pid = int((pg.datadir / "postmaster.pid").read_text().split()[0])
        out["service_postgres_version"] = str(pg_version(pg_url))
        out["service_fsync_ms"] = fsync_ms(tmp)
        for name, value in store_only(pg_url, store_seconds).items():
            out[f"service_store_only_postgres_{name}"] = value
        # diagnosis only: the same without waiting for the WAL flush (NOT a safe setting: a
        # database crash could then forget accepted steps)
        nosync = pg.create_database("bench_nosync") + "?options=-csynchronous_commit%3Doff"
        for name, value in store_only(nosync, store_seconds).items():
            out[f"service_store_only_postgres_nosync_{name}"] = value
        for name, value in store_only(f"sqlite://{tmp}/store-only.db", store_seconds).items():
            out[f"service_store_only_sqlite_{name}"] = value
        for name, value in store_only("memory:", store_seconds).items():
            out[f"service_store_only_memory_{name}"] = value
        # memory: the same service and clients with no database at all, i.e. the ceiling of the
        # HTTP path itself (one worker: each process would have its own memory store)
        configs = [("postgres", w) for w in workers_list]
        # SQLite: one process (its group commit lives in the process); more only in full runs
        configs += [("sqlite", w) for w in ((1,) if small else workers_list)]
        configs.append(("memory", 1))
        for backend, w in configs:
            db = {"postgres": pg_url, "sqlite": f"sqlite://{tmp}/bench-{w}.db", "memory": "memory:"}[backend]
            res = run_config(db, w, seconds, pg_pid if backend == "postgres" else None, f"{backend}{w}")
            for k, v in res.items():
                out[f"service_{backend}_w{w}_{k}"] = v
        # one HTTP request for 16 codes: how much of the per-verify cost is the HTTP path
        if not small:
            res = run_config(pg_url, 2, seconds, pg_pid, "batch", batch=BATCH)
            for k, v in res.items():
                out[f"service_postgres_w2_batch{BATCH}_{k}"] = v
    out.update(best_durable(out))
    return out


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def measure(quick: bool) -> dict[str, float | int | str]:
    return measure_service(quick)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
    else:
        print(json.dumps(measure_service("--quick" in sys.argv), indent=1))
