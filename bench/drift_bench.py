"""``tokensim bench --suite drift``: the drift population (bench/drift_population.py) on three seeds.

Full: 200 tokens x 3 years per schedule class, seeds 1, 2, 3 (about a minute per seed on one core).
Quick: 20 tokens x 1 year, seed 1.  Keys: ``drift_<class>_<model>_<metric>`` plus
``drift_goal_met`` (every class, every seed: first-try rejects <= the best peer's, calendar-mean
window <= 4, widest <= 12) and ``drift_table_seed<N>`` (the markdown table).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SUITE_NAME = "drift"
DEFAULT = False  # a minute or more per seed: run when named (tokensim bench --suite drift)

SEEDS = (1, 2, 3)


def _population() -> Any:
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # loaded by path, not as part of a package
        sys.path.insert(0, here)
    import importlib

    return importlib.import_module("drift_population")


def measure(quick: bool) -> dict[str, float | int | str]:
    dp = _population()
    seeds, tokens, years = ((1,), 20, 1.0) if quick else (SEEDS, 200, 3.0)
    out: dict[str, float | int | str] = {"drift_tokens": tokens, "drift_years": years,
                                         "drift_seeds": ",".join(map(str, seeds))}
    met = True
    for seed in seeds:
        result = dp.run(seed, tokens, years)
        goal = dp.goal(result)
        met = met and all(goal.values())
        out[f"drift_seed{seed}_goal"] = ",".join(f"{c}={'met' if ok else 'MISSED'}" for c, ok in goal.items())
        out[f"drift_table_seed{seed}"] = dp.markdown(result)
        if seed == seeds[0]:
            for cls, rows in result.items():
                for model, row in rows.items():
                    for metric in ("frr", "resyncs_per_token_year", "mean_window_login",
                                   "mean_window_calendar", "max_window"):
                        out[f"drift_{cls}_{model}_{metric}"] = round(float(row[metric]), 5)
    out["drift_goal_met"] = int(met)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(measure("--quick" in sys.argv)))
