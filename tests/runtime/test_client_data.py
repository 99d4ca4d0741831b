"""Client returns typed run data, and only the store speaks SQL."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

import durablec
import durablec.runtime
from durablec.errors import RunSuspendedError
from durablec.runtime.client import Client
from durablec.runtime.model import EventInfo, RunInfo, StepInfo, Timeline
from helpers import Loader

TASKS = """
import durablec

async def double(x):
    return x * 2

@durablec.task(id="gate", retry=durablec.Retry.none())
async def gate(order):
    first = await double(order)
    decision = await durablec.wait_for_event("approval")
    return {"order": first, "approved_by": decision["by"]}
"""


def test_timeline_is_typed_and_holds_steps_and_events(load: Loader, db_url: str) -> None:
    tasks = load(TASKS)
    client = Client(db_url)
    with pytest.raises(RunSuspendedError):
        asyncio.run(durablec.arun(tasks.gate, 5, db=db_url, run_id="t1"))
    client.send_event("t1", "approval", {"by": "ana"})
    assert asyncio.run(durablec.arun(tasks.gate, 5, db=db_url, run_id="t1")) == {
        "order": 10, "approved_by": "ana"}

    timeline = client.timeline("t1")
    assert isinstance(timeline, Timeline) and isinstance(timeline.run, RunInfo)
    assert timeline.run == client.get("t1") and timeline.run.status == "completed"
    assert all(isinstance(step, StepInfo) for step in timeline.steps)
    assert [(s.key, s.callee, s.outcome, s.final) for s in timeline.steps] == [
        ("0", "double", "ok", True), ("1", "durablec.wait_for_event", "ok", True)]
    assert timeline.steps[0].args == "5" and timeline.steps[0].result == "10"
    assert timeline.steps[0].error is None and timeline.steps[0].duration_ms >= 0
    assert [(e.name, e.payload_repr, e.consumed_key) for e in timeline.events] == [
        ("approval", "{'by': 'ana'}", "1")]
    assert isinstance(timeline.events[0], EventInfo)
    entries = timeline.as_json()["steps"]
    assert entries[0]["at"] == timeline.offset(timeline.steps[0])
    assert entries[1]["callee"] == "durablec.wait_for_event"


def test_only_the_store_imports_sqlalchemy() -> None:
    """The seam of issue 12: every statement is a named store operation."""
    runtime = Path(durablec.runtime.__file__).parent
    speaking_sql = []
    for path in sorted(runtime.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] in ("sqlalchemy", "sqlmodel") for name in names):
                speaking_sql.append(path.relative_to(runtime).as_posix())
    assert speaking_sql and all(name.startswith("store/") for name in speaking_sql), speaking_sql
