"""``--plot FILE.png``: worst-case ±1 batch throughput against batch size, one line per thread count."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot(result: dict[str, Any], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[dict[str, Any]] = result.get("sweep") or []
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=100)
    for t in sorted({r["threads"] for r in rows}):
        pts = sorted((r["batch"], r["verify_per_s"]) for r in rows if r["threads"] == t)
        ax.plot([p[0] for p in pts], [p[1] / 1e6 for p in pts], marker="o",
                label=f"{t} thread{'s' if t > 1 else ''}")
    for key, label, style in (("sha1_limit_verify_per_s", "SHA-1 limit (hashlib, 1 core)", "--"),
                              ("pyotp_verify_per_s", "pyotp", ":")):
        v = result.get(key)
        if isinstance(v, int | float):
            ax.axhline(v / 1e6, linestyle=style, color="grey", linewidth=1)
            ax.annotate(label, (1, v / 1e6), textcoords="offset points", xytext=(2, 3), fontsize=8,
                        color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size (items per verify_batch call)")
    ax.set_ylabel("million verifies / s (±1 window, all miss)")
    ax.set_title(f"tokensim hot loop ({result.get('backend')}) on {result.get('cpu')}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
