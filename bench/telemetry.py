"""What OpenTelemetry costs a checkpoint: durablec with and without its telemetry observer.

    .venv/bin/python bench/telemetry.py [--rounds 5] [--steps 2000] [--runs 300]

Each measurement runs in a fresh process, modes alternating within each round. ``hooks``: the
observer's two calls for one live step (start, end) alone, no database: the added cost per step
without the noise of the commit. ``steps``: one run of N sequential steps
(bench/durable_tasks.py's ``steps``, compiled on import) on a fresh SQLite journal (durablec's
default: WAL, synchronous=NORMAL), µs per step. ``runs``: N runs of three steps one after the
other, µs per run: this adds what telemetry does once per execution (the trace row read and
written, the root and execution spans). The SDK is real; spans go to a
BatchSpanProcessor with an exporter that discards them, so the figures are durablec's and the
SDK's work, not a network's. Printed as a table of medians with [min-max]; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MODES = ("off", "traces", "metrics", "traces+metrics")


def child(mode: str, case: str, n: int, db: str) -> None:
    """One measurement in this process; prints its figure as JSON."""
    import asyncio

    from durablec.compiler.importhook import load_target

    if mode != "off":
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from durablec.runtime.telemetry import instrument

        class Discard(SpanExporter):
            def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        tracing = metering = None
        if "traces" in mode:
            tracing = TracerProvider()
            tracing.add_span_processor(BatchSpanProcessor(Discard()))
        if "metrics" in mode:
            metering = MeterProvider(metric_readers=[InMemoryMetricReader()])
        instrument(tracing, metering)
        if case == "hooks":
            print(json.dumps(_hooks(n)))
            return

    sys.path.insert(0, str(BENCH))
    steps = load_target(f"{BENCH / 'durable_tasks.py'}:steps", lint=False)
    three = load_target(f"{BENCH / 'durable_tasks.py'}:three", lint=False)
    import durablec

    async def measure() -> float:
        await durablec.arun(steps, 20, db=db)  # warm-up: schema, statements, imports
        start = time.perf_counter()
        if case == "steps":
            await durablec.arun(steps, n, db=db)
        else:
            for i in range(n):
                await durablec.arun(three, i, db=db)
        return (time.perf_counter() - start) / n * 1e6

    print(json.dumps(asyncio.run(measure())))


def _hooks(n: int) -> float:
    """µs per live step of the installed observer's step_started and step_ended, best of 5."""
    from durablec.runtime.journal import Journal
    from durablec.runtime.observer import StepEvent, observer

    hooks = observer()
    assert hooks is not None
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(f"sqlite:///{tmp}/hooks.db")
        hooks.run_opened(journal, "r")
        hooks.run_started("r", "bench.steps", False)
        event = StepEvent("r", "0", "call", "payments.charge", "/app/tasks.py", 12, 1)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                hooks.step_started(event)
                hooks.step_ended(event, "ok", None, 0.001)
            best = min(best, (time.perf_counter() - start) / n * 1e6)
        hooks.run_ended("r", "completed", 0, n)
        journal.close()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=300)
    options = parser.parse_args()
    figures: dict[tuple[str, str], list[float]] = {}
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(options.rounds):
            for case, n in (("hooks", 20000), ("steps", options.steps), ("runs", options.runs)):
                for mode in MODES[round_ % len(MODES):] + MODES[:round_ % len(MODES)]:
                    if case == "hooks" and mode == "off":
                        continue  # no observer: the engine's one attribute check
                    db = f"sqlite:///{tmp}/{case}-{mode}-{round_}.db"
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", mode, case, str(n), db],
                        env=env, capture_output=True, text=True, check=True)
                    figures.setdefault((case, mode), []).append(
                        float(done.stdout.strip().splitlines()[-1]))
    print(f"{'case':<8}{'mode':<16}{'median':>10}  {'[min-max]':<20}{'over off':>10}")
    for case, unit in (("hooks", "µs/step"), ("steps", "µs/step"), ("runs", "µs/run")):
        base = statistics.median(figures[case, "off"]) if case != "hooks" else 0.0
        for mode in MODES if case != "hooks" else MODES[1:]:
            values = figures[case, mode]
            median = statistics.median(values)
            print(f"{case:<8}{mode:<16}{median:>10.1f}  [{min(values):.1f}-{max(values):.1f}]"
                  f"{'':<6}{median - base:>+10.1f} {unit}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main()
