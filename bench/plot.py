"""The figure of docs/performance.md: per-step overhead and throughput, both systems."""

from __future__ import annotations

from pathlib import Path

from report import Figures

BARS = (("dbos", "DBOS 3.4.0 (as shipped)"), ("durablec-full", "durablec, SQLite WAL/FULL (equal)"),
        ("durablec", "durablec default (SQLite: WAL/NORMAL)"))


def draw(figures: Figures, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = ((left, "steps", "µs per checkpoint (log, lower is better)"),
              (right, "three", "3-step runs per second (log, higher is better)"))
    backends = ("sqlite", "postgresql")
    width = 0.27
    for axis, measure, title in panels:
        for i, (system, label) in enumerate(BARS):
            xs, ys, lows, highs = [], [], [], []
            for j, backend in enumerate(backends):
                found = figures.values.get((measure, backend, system))
                if not found:
                    continue
                median = sorted(found)[len(found) // 2]
                xs.append(j + (i - 1) * width)
                ys.append(median)
                lows.append(median - min(found))
                highs.append(max(found) - median)
            if xs:
                axis.bar(xs, ys, width, label=label, yerr=[lows, highs], capsize=3)
                for x, y in zip(xs, ys):
                    axis.annotate(f"{y:,.0f}", (x, y), ha="center", va="bottom", fontsize=8)
        axis.set_xticks(range(len(backends)), ["SQLite", "PostgreSQL"])
        axis.set_yscale("log")
        axis.set_title(title, fontsize=10)
    left.legend(fontsize=8)
    fig.suptitle("durablec vs DBOS Transact, same machine and databases (median, min-max bars)",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
