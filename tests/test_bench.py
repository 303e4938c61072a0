"""``tokensim bench`` on tiny sizes: the keys and sane values, never speeds."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tokens._cli.main import main
from tokens.benchmark import runner

REQUIRED = ["batch_verify_per_s", "batch_verify_hit_per_s", "batch_verify_threads_per_s", "threads",
            "pyotp_verify_per_s", "sha1_limit_verify_per_s", "resync_24h_ms", "stateful_verify_per_s",
            "backend"]
TINY = runner.QUICK.scaled(0.01)


def _positive(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def test_cli_quick_json_prints_one_object_with_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--quick", "--json", "--scale", "0.01", "--no-suites", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON line on stdout
    r = json.loads(out)
    for key in REQUIRED:
        assert key in r, key
    for key in [*REQUIRED[:-2], "stateful_memory_verify_per_s", "python_batch_verify_per_s",
                "pyotp_verify_hit_per_s", "sha1_limit_blocks_per_s"]:
        assert _positive(r[key]), (key, r[key])
    assert r["backend"] in ("c-shani", "c-portable", "python")
    assert isinstance(r["threads"], int) and r["threads"] >= 1
    assert r["stateful_accepted_fraction"] == 1.0  # every fresh correct code was accepted
    assert 0 < r["one_thread_cores_used"] <= 1.5 and 0 < r["threads_cores_used"] <= r["threads"] + 0.5
    if r["threads"] > 1:
        assert _positive(r["hash_only_hmac_per_s"]) and _positive(r["hash_only_threads_hmac_per_s"])
        assert r["hash_only_threads_vs_one"] == pytest.approx(
            r["hash_only_threads_hmac_per_s"] / r["hash_only_hmac_per_s"])
    assert r["sha1_limit_verify_per_s"] == pytest.approx(r["sha1_limit_blocks_per_s"] / 6)
    assert r["batch_vs_pyotp"] == pytest.approx(r["batch_verify_per_s"] / r["pyotp_verify_per_s"])
    assert r["threads_vs_one"] == pytest.approx(r["batch_verify_threads_per_s"] / r["batch_verify_per_s"])
    assert set(r["targets_met"]) >= {"batch_vs_sha1_limit", "batch_vs_pyotp", "threads_vs_one",
                                     "stateful_vs_pyotp", "resync_24h_ms"}


def test_human_report_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "bench.png"
    argv = ["bench", "--quick", "--scale", "0.01", "--no-suites", "--no-progress", "--plot", str(png)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "batch verify ±1, worst case, 1 thread" in out and "SHA-1 limit" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_page_keeps_its_notes(tmp_path: Path) -> None:
    from tokens.benchmark import report

    page = tmp_path / "BENCHMARKS.md"
    page.write_text(f"old table\n{report.NOTES_MARKER}\n## Notes\nhand-written analysis\n")
    r = runner.run(True, TINY, suites=False)
    report.write(r, page, "tokensim bench --quick", "bench.png")
    text = page.read_text()
    assert "old table" not in text and "hand-written analysis" in text
    assert "tokensim bench --quick" in text and r["backend"] in text and "![" in text
    for key in ("batch_verify_per_s", "pyotp_verify_per_s", "sha1_limit_verify_per_s", "resync_24h_ms"):
        assert key in text


def test_sweep_rows_cover_sizes_and_threads() -> None:
    r = runner.run(True, TINY, suites=False, sweep=True)
    rows = r["sweep"]
    assert {row["threads"] for row in rows} == set(range(1, r["threads"] + 1))
    assert {row["batch"] for row in rows} == set(TINY.sweep_sizes)
    assert all(_positive(row["verify_per_s"]) for row in rows)


SUITE_OK = '''
SUITE_NAME = "okay"
def measure(quick):
    return {"okay_ops_per_s": 123.0, "okay_mode": "quick" if quick else "full"}
'''
SUITE_FAILS = '''
SUITE_NAME = "broken"
def measure(quick):
    raise RuntimeError("no device attached")
'''
SUITE_HANGS = '''
import time
SUITE_NAME = "slow"
def measure(quick):
    time.sleep(30)
    return {}
'''


def test_contributed_suites_run_isolated(tmp_path: Path) -> None:
    (tmp_path / "okay_bench.py").write_text(SUITE_OK)
    (tmp_path / "broken_bench.py").write_text(SUITE_FAILS)
    (tmp_path / "helper.py").write_text("raise SystemExit('not a suite')\n")
    found = runner.discover_suites(tmp_path)
    assert [p.name for p in found] == ["broken_bench.py", "okay_bench.py"]
    tiny = runner.Sizes(batch_items=20, keys=4, min_time=0.0, pyotp_items=10, python_items=10,
                        sha1_bytes=1 << 16, resync_reps=3, stateful_creds=3, stateful_rounds=1,
                        sweep_sizes=(1,), suite_timeout=60.0)
    r = runner.run(True, tiny, suite_dir=tmp_path)
    assert r["okay_ops_per_s"] == 123.0 and r["okay_mode"] == "quick"
    assert set(r["suite_keys"]) == {"okay_ops_per_s", "okay_mode", "okay_suite_seconds", "broken_error"}
    assert "no device attached" in r["broken_error"]
    assert _positive(r["batch_verify_per_s"])
    assert r["okay_suite_seconds"] >= 0 and "broken_suite_seconds" not in r
    only = runner.run(True, tiny, suite_dir=tmp_path, only_suites=["okay"])
    assert only["suite_keys"] == ["okay_ops_per_s", "okay_mode", "okay_suite_seconds"]


def test_a_hanging_suite_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "slow_bench.py"
    path.write_text(SUITE_HANGS)
    assert "timed out" in runner.run_suite(path, True, timeout=1.0)["slow_error"]


def test_ratios_and_targets_from_a_result() -> None:
    r = {"batch_verify_per_s": 3e6, "sha1_limit_verify_per_s": 4e6, "pyotp_verify_per_s": 2e4,
         "batch_verify_threads_per_s": 5.7e6, "stateful_verify_per_s": 1e4, "resync_24h_ms": 0.4, "cores": 2}
    out = runner.ratios(r)
    assert out["batch_vs_sha1_limit"] == pytest.approx(0.75)
    assert out["batch_vs_pyotp"] == pytest.approx(150)
    assert out["threads_vs_one"] == pytest.approx(1.9)
    met = out["targets_met"]
    assert met == {"batch_vs_sha1_limit": True, "batch_vs_pyotp": True, "threads_vs_one": True,
                   "stateful_vs_pyotp": False, "resync_24h_ms": True}
    assert runner.ratios({})["targets_met"]["batch_vs_pyotp"] is None


def test_demo_section_prints_the_comparison() -> None:
    from tokens._cli import bench as cli

    lines: list[str] = []

    class Ctx:
        def say(self, *objects: object) -> None:
            lines.append(" ".join(str(o) for o in objects))

    ((order, title, fn),) = cli.DEMO_SECTIONS
    assert order == 70 and "throughput" in title
    fn(Ctx())
    text = "\n".join(lines)
    assert "verify_batch, 1 thread" in text and "pyotp" in text and "resync" in text


def test_slow_suites_run_only_when_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tokens.benchmark import runner

    (tmp_path / "fast_bench.py").write_text(
        'SUITE_NAME = "fast"\ndef measure(quick):\n    return {"fast_x": 1}\n')
    (tmp_path / "slow_bench.py").write_text(
        'SUITE_NAME = "slow"\nDEFAULT = False\ndef measure(quick):\n    return {"slow_x": 2}\n')
    assert runner.runs_by_default(tmp_path / "fast_bench.py")
    assert not runner.runs_by_default(tmp_path / "slow_bench.py")
    assert not runner.runs_by_default(runner.BENCH_DIR / "service_bench.py")
    tiny = runner.QUICK.scaled(0.01)
    default = runner.run(True, tiny, suite_dir=tmp_path)
    assert default.get("fast_x") == 1 and "slow_x" not in default
    named = runner.run(True, tiny, suite_dir=tmp_path, only_suites=["slow"])
    assert named.get("slow_x") == 2 and "fast_x" not in named
