"""The drift population benchmark (bench/drift_population.py), run small: it runs, the peer models
behave as documented, and tokensim's window stays within its bounds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench(name: str) -> ModuleType:
    """A bench/ script as a module (bench/ is a folder of suites, not a package)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_population_small_run() -> None:
    dp = load_bench("drift_population")
    result = dp.run(seed=7, tokens=4, years=0.5, classes=("weekly", "quarterly"))
    assert set(result) == {"weekly", "quarterly"}
    for rows in result.values():
        assert set(rows) == set(dp.MODELS)
        assert rows["privacyidea"]["max_window"] == rows["privacyidea"]["mean_window_login"] == 12
        assert rows["freeipa"]["max_window"] == 19 and rows["offset+-1"]["max_window"] == 3
        ts = rows["tokensim"]
        assert ts["logins"] == rows["freeipa"]["logins"] > 0
        assert 2 <= ts["mean_window_calendar"] <= ts["max_window"] <= 12
    again = dp.run(seed=7, tokens=4, years=0.5, classes=("weekly", "quarterly"))
    assert again == result, "seeded: the same numbers every time"
    assert "| weekly | tokensim |" in dp.markdown(result)


def test_population_is_the_documented_one() -> None:
    dp = load_bench("drift_population")
    pop = dp.population(1, 200)
    ppm = [t.model.ppm for t in pop]
    sd = (sum(p * p for p in ppm) / len(ppm)) ** 0.5
    assert 12 < sd < 18  # crystal +-15 ppm sd
    assert all(t.model.temperature is not None and t.model.temp_coeff == -0.034 for t in pop)
    assert len({t.secret for t in pop}) == 200


def test_suite_quick_keys(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    suite = load_bench("drift_bench")
    dp = load_bench("drift_population")
    calls = []
    real = dp.run

    def small(seed: int, tokens: int, years: float) -> dict:  # type: ignore[type-arg]
        calls.append((seed, tokens, years))
        return real(seed, 3, 0.3)

    monkeypatch.setattr(dp, "run", small)
    out = suite.measure(True)
    assert calls == [(1, 20, 1.0)]
    assert "drift_quarterly_tokensim_frr" in out and out["drift_goal_met"] in (0, 1)


def test_constant_crystals_and_policy_options(capsys) -> None:  # type: ignore[no-untyped-def]
    dp = load_bench("drift_population")
    pop = dp.population(1, 5, constant=True)
    assert [t.model.ppm for t in pop] == [t.model.ppm for t in dp.population(1, 5)]
    assert all(t.model.temperature is None and t.model.aging_ppm_per_year == 0 for t in pop)
    assert dp._policy(["rare_use_coverage=0.995", "history_size=8"]).history_size == 8
    for bad in (["nope=1"], ["coverage"], ["coverage=x"], ["rare_use_coverage=0.999"]):
        try:
            dp._policy(bad)
        except ValueError as e:
            assert "\n" not in str(e)
        else:
            raise AssertionError(bad)
    assert dp.main(["--quick", "--class", "quarterly", "--constant-crystals", "--policy", "coverage=0.99",
                    "--json"]) == 0
    out = capsys.readouterr().out
    assert '"quarterly"' in out and '"weekly"' not in out
