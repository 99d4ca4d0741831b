"""Compile speed on a real corpus: a copy of the standard library's ``asyncio`` package.

    .venv/bin/python bench/compile.py [--repeat N]

Prints one row per measure with its target beside it. LibCST's parse-only rate on the same
corpus is the ceiling for anything that parses. Each figure is the best of ``--repeat`` runs,
because the machines this runs on are shared and noise only ever adds time. Builds go through
the public build API (the path ``durablec build`` and ``--watch`` take); LibCST is imported before
any timing, so the figures are of steady-state compiling, not of interpreter start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import libcst

from durablec.compiler.build import build, default_jobs
from durablec.compiler.pipeline import compile_source

CHANGED_FILE = "tasks.py"
"""The file edited for the one-file rebuild: ordinary async code of ordinary size."""

_WALL_CLOCK_TASK = "import time\n\n\nasync def task():\n    return time.time()\n"
"""A module the linter must flag (DC101): tells whether builds run the linter."""


@dataclass(frozen=True, slots=True)
class Row:
    measure: str
    figure: str
    target: str
    verdict: str


def best_of(
    repeat: int, run: Callable[[int], Any], setup: Callable[[int], None] | None = None
) -> float:
    """The shortest wall time of ``run(i)`` over ``repeat`` runs; ``setup(i)`` is not timed."""
    best = float("inf")
    for i in range(repeat):
        if setup is not None:
            setup(i)
        start = time.perf_counter()
        run(i)
        best = min(best, time.perf_counter() - start)
    return best


def rate_row(measure: str, lines: int, seconds: float, per_core_floor: float | None = None,
             cores: int = 1) -> Row:
    rate = lines / seconds
    if per_core_floor is None:
        return Row(measure, f"{rate:,.0f} lines/s", "", "")
    per_core = rate / cores
    verdict = "ok" if per_core >= per_core_floor else "MISSED"
    figure = f"{rate:,.0f} lines/s" + (f" ({per_core:,.0f}/core)" if cores > 1 else "")
    return Row(measure, figure, f">= {per_core_floor:,.0f} lines/s per core", verdict)


def time_row(measure: str, seconds: float, ceiling: float) -> Row:
    verdict = "ok" if seconds < ceiling else "MISSED"
    return Row(measure, f"{seconds * 1000:,.0f} ms", f"< {ceiling * 1000:,.0f} ms", verdict)


def lint_rows(corpus: Path, files: list[Path], lines: int, jobs: int, repeat: int,
              work: Path) -> list[Row]:
    """Lint alone on pre-parsed modules, and a cold build with the linter on."""
    try:
        from durablec.compiler.lint import LintConfig, lint_module
    except ImportError:
        return [
            Row("lint alone, pre-parsed modules", "n/a (linter not available)", "", ""),
            Row(f"cold build + lint, jobs={jobs}", "n/a (linter not available)", "", ""),
        ]
    config = LintConfig.default()
    # As the compiler calls it: the tree it parsed and the text, so suppressions need no reprint.
    sources = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    modules = [(libcst.parse_module(source), path, source) for path, source in sources]

    def lint_all(_: int) -> None:
        for module, path, source in modules:
            lint_module(module, path, config, source=source)

    def cold(i: int) -> None:
        build([corpus], work / f"lint-{i}", lint=True, jobs=jobs)

    measure = f"cold build + lint, jobs={jobs}"
    lint_alone = rate_row("lint alone, pre-parsed modules", lines, best_of(repeat, lint_all))
    if not compile_source(_WALL_CLOCK_TASK, "probe.py", lint=True).diagnostics:
        # Otherwise the row would time a build without the linter under the linter's name.
        return [lint_alone, Row(measure, "n/a (build does not lint yet)", "", "")]
    return [lint_alone, rate_row(measure, lines, best_of(repeat, cold), 5000, jobs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (best is kept)")
    args = parser.parse_args()
    repeat: int = args.repeat
    jobs = default_jobs()

    with tempfile.TemporaryDirectory(prefix="durablec-bench-") as tmp:
        work = Path(tmp)
        corpus = work / "src" / "asyncio"
        shutil.copytree(
            Path(asyncio.__file__).parent, corpus, ignore=shutil.ignore_patterns("__pycache__")
        )
        files = sorted(corpus.rglob("*.py"))
        sources = [f.read_text(encoding="utf-8") for f in files]
        lines = sum(len(s.splitlines()) for s in sources)
        version = ".".join(map(str, sys.version_info[:3]))
        print(f"corpus: asyncio of Python {version}, {len(files)} files, {lines:,} lines; "
              f"{jobs} core(s); best of {repeat} runs")

        def parse_all(_: int) -> None:
            for source in sources:
                libcst.parse_module(source)

        def cold_serial(i: int) -> None:
            build([corpus], work / f"serial-{i}", lint=False, jobs=1)

        def cold_parallel(i: int) -> None:
            build([corpus], work / f"parallel-{i}", lint=False, jobs=jobs)

        rows = [
            rate_row("LibCST parse only (ceiling), serial", lines, best_of(repeat, parse_all)),
            rate_row("cold build, jobs=1", lines, best_of(repeat, cold_serial), 5000),
            rate_row(f"cold build, jobs={jobs}", lines, best_of(repeat, cold_parallel), 5000, jobs),
        ]

        # Rebuilds of the tree the last parallel build wrote, as --watch does after a change.
        out = work / f"parallel-{repeat - 1}"
        rows.append(time_row(
            "no-op rebuild",
            best_of(repeat, lambda _: build([corpus], out, lint=False, jobs=jobs)),
            0.3,
        ))
        changed = corpus / CHANGED_FILE
        original = changed.read_text(encoding="utf-8")
        changed_lines = len(original.splitlines())

        def edit(i: int) -> None:
            # A different comment each time, so every run sees a new content hash.
            changed.write_text(f"{original}# edit {i}\n", encoding="utf-8")

        rows.append(time_row(
            f"one-file change rebuild ({CHANGED_FILE}, {changed_lines:,} lines)",
            best_of(repeat, lambda _: build([corpus], out, lint=False, jobs=jobs), setup=edit),
            0.2,
        ))
        changed.write_text(original, encoding="utf-8")

        rows += lint_rows(corpus, files, lines, jobs, repeat, work)

    print_table(rows)


def print_table(rows: list[Row]) -> None:
    table = [("measure", "figure", "target", "")] + [
        (r.measure, r.figure, r.target, r.verdict) for r in rows
    ]
    w = [max(len(cells[i]) for cells in table) for i in range(3)]
    table.insert(1, ("-" * w[0], "-" * w[1], "-" * w[2], ""))
    for measure, figure, target, verdict in table:
        print(f"{measure:<{w[0]}}  {figure:>{w[1]}}  {target:<{w[2]}}  {verdict}".rstrip())

if __name__ == "__main__":
    main()
