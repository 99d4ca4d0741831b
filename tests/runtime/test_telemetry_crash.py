"""One trace per run across a SIGKILL: a real `durablec run` sends its spans over OTLP/HTTP to a
receiver on loopback and is killed inside a step; another worker resumes the run (a real
`durablec worker` process, or this test process with the SDK's in-memory exporter), and every
span of the run lands in one trace under one root."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from durablec.runtime.telemetry import instrument
from durablec.runtime.worker import work

from helpers import Loader, kill_when
from otlp_receiver import Received, Receiver, receiver

# An observer that raises only warns (observer.py): here that is a failure.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TASKS = """
import asyncio
import os

import durablec

async def fetch(n):
    return n * 2

async def hold(n):
    if os.environ.get("HOLD"):  # durablec: allow[DC401] (test instrumentation)
        open(os.environ["MARK"], "w").close()  # durablec: allow[DC402]
        await asyncio.Event().wait()  # in flight until the process is killed
    return n + 1

@durablec.task(id="crashing")
async def crashing(n):
    a = await fetch(n)
    b = await hold(a)
    return await fetch(b)
"""


def _env(tmp: Path, otlp: Receiver, service: str, **more: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    env.update(DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}", MARK=str(tmp / "held"),
               OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint, OTEL_SERVICE_NAME=service,
               OTEL_METRICS_EXPORTER="none", OTEL_BSP_SCHEDULE_DELAY="10", **more)
    return env


def _kill_inside_hold(tmp: Path, otlp: Receiver) -> Received:
    """Start the run, SIGKILL it inside step 1 once step 0's span was exported; that span."""
    (tmp / "tasks.py").write_text(TASKS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "durablec", "run", "tasks.py:crashing", "--args", "[1]",
         "--run-id", "R", "--no-lint"],
        cwd=tmp, env=_env(tmp, otlp, "first", HOLD="1"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    kill_when(proc, lambda: (tmp / "held").exists() and bool(otlp.named("step fetch")),
              "step 1 with step 0's span exported")
    [first_step] = otlp.named("step fetch")
    return first_step


def _traced_execution_row(tmp: Path) -> tuple[object, ...]:
    with sqlite3.connect(tmp / "j.db") as db:
        row: tuple[object, ...] = db.execute(
            "SELECT trace_id, span_id, execution_span_id FROM durablec_traces WHERE run_id = 'R'"
        ).fetchone()
    return row


def test_a_worker_process_resumes_the_killed_run_in_its_trace(tmp_path: Path) -> None:
    with receiver() as otlp:
        first_step = _kill_inside_hold(tmp_path, otlp)
        worker = subprocess.run(
            [sys.executable, "-m", "durablec", "worker", "tasks.py:crashing", "--until-idle",
             "--no-lint"],
            cwd=tmp_path, env=_env(tmp_path, otlp, "second"), capture_output=True, text=True,
            timeout=120)
        assert worker.returncode == 0, worker.stderr
        assert "run R completed" in worker.stderr
        spans = [s for s in otlp.spans if s.attributes.get("durablec.run_id") == "R"]

    trace_id, root_id, open_execution = _traced_execution_row(tmp_path)
    assert open_execution is None  # the last execution ended
    assert {s.trace_id for s in spans} == {trace_id}
    [root] = [s for s in spans if s.name == "run crashing"]
    assert (root.span_id, root.parent_span_id, root.service) == (root_id, None, "second")
    assert root.attributes["durablec.status"] == "completed"
    executions = {s.attributes["durablec.status"]: s for s in spans if s.name == "execute crashing"}
    assert set(executions) == {"interrupted", "completed"}
    killed, resumed = executions["interrupted"], executions["completed"]
    # The killed execution's span, emitted by its successor: the parent of the step it exported.
    assert killed.span_id == first_step.parent_span_id and killed.error
    assert killed.attributes["durablec.worker"] != resumed.attributes["durablec.worker"]
    assert killed.parent_span_id == resumed.parent_span_id == root.span_id
    assert (resumed.attributes["durablec.resumed"], resumed.attributes["durablec.replayed"],
            resumed.attributes["durablec.live_steps"]) == (True, 1, 2)
    # Step 0 was replayed (no span); step 1 (in flight at the kill) and step 2 ran here.
    steps = sorted((s.attributes["durablec.step.key"], s.service, s.parent_span_id)
                   for s in spans if s.name.startswith("step "))
    assert steps == [("0", "first", killed.span_id), ("1", "second", resumed.span_id),
                     ("2", "second", resumed.span_id)]


def test_this_process_resumes_the_killed_run_with_in_memory_spans(
        tmp_path: Path, load: Loader, monkeypatch: pytest.MonkeyPatch) -> None:
    with receiver() as otlp:
        first_step = _kill_inside_hold(tmp_path, otlp)
    mod = load(TASKS)
    monkeypatch.delenv("HOLD", raising=False)
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    uninstall = instrument(provider)
    assert uninstall is not None
    try:
        [outcome] = asyncio.run(work(f"sqlite:///{tmp_path / 'j.db'}", [mod.crashing],
                                     until_idle=True))
    finally:
        uninstall()
    assert (outcome.status, outcome.result) == ("completed", 6)
    spans = exported.get_finished_spans()
    assert {f"{s.context.trace_id:032x}" for s in spans if s.context} == {first_step.trace_id}
    names = sorted(s.name for s in spans)
    assert names == ["execute crashing", "execute crashing", "run crashing", "step fetch",
                     "step hold"]
    [killed] = [s for s in spans
                if s.attributes and s.attributes.get("durablec.status") == "interrupted"]
    assert killed.context is not None
    assert f"{killed.context.span_id:016x}" == first_step.parent_span_id
