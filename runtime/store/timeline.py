"""The read side of a run's history: its row, every step attempt and every event, at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from durablec.runtime.model import ExecutionInfo
from durablec.runtime.store.database import Journal
from durablec.runtime.store.runs import missing, record
from durablec.runtime.store.schema import events, executions, logs, runs, steps, unless_over

if TYPE_CHECKING:
    from durablec.runtime.views import Timeline

__all__ = ["ArgsPreview", "Decode", "timeline"]

ArgsPreview = Callable[[bytes, str], str]
"""Reads a step's pickled arguments (and its key) as text: the store does not unpickle."""
Decode = Callable[[bytes, str], Any]
"""Reads a pickled payload (and its context, ``run/key/args``) as a JSON value: the store does
not unpickle."""


def timeline(
    journal: Journal, run_id: str, preview_args: ArgsPreview, decode: Decode | None = None,
) -> Timeline:
    """The run, its step attempts in recording order, its events in arrival order and the runs
    it started, read in one transaction so that they agree with each other."""
    from durablec.runtime.views import EventInfo, LogInfo, StepInfo, Timeline

    with journal.begin() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            raise missing(journal, run_id)
        # Large results stay in the database: a timeline shows their preview (result_repr).
        step_rows = conn.execute(
            select(*(unless_over(column, journal.lazy_over) if column.name == "result"
                     else column for column in steps.columns))
            .where(steps.c.run_id == run_id).order_by(steps.c.id)).all()
        event_rows = conn.execute(
            select(events.c.id, events.c.name, events.c.payload_repr, events.c.consumed_key,
                   events.c.created_at)
            .where(events.c.run_id == run_id).order_by(events.c.id)).all()
        child_rows = conn.execute(
            select(runs).where(runs.c.parent_run_id == run_id).order_by(runs.c.created_at)).all()
        execution_rows = conn.execute(
            select(*(executions.c[name] for name in ExecutionInfo.__slots__))
            .where(executions.c.run_id == run_id).order_by(executions.c.epoch)).all()
        log_rows = conn.execute(
            select(*(logs.c[name] for name in LogInfo.__slots__))
            .where(logs.c.run_id == run_id).order_by(logs.c.id)).all()

    def value(blob: bytes | None, context: str) -> Any:
        return None if blob is None or decode is None else decode(blob, context)
    return Timeline(
        record(row).info(),
        tuple(
            StepInfo(
                step.id, step.key, step.attempt, step.retry_of, step.kind, step.callee,
                step.file, step.line, step.col, step.outcome, bool(step.final),
                step.args_repr or ("" if step.args is None else preview_args(step.args, step.key)),
                step.result_repr if step.outcome != "error" else None,
                step.error_type, step.error_message, step.traceback, step.http_status,
                step.started_at, step.finished_at,
                value(step.args, f"{run_id}/{step.key}/args"),
                value(step.result, f"{run_id}/{step.key}") if step.outcome == "ok" else None,
            )
            for step in step_rows
        ),
        tuple(EventInfo(*event) for event in event_rows),
        tuple(record(child).info() for child in child_rows),
        tuple(ExecutionInfo(*execution) for execution in execution_rows),
        tuple(LogInfo(*log) for log in log_rows),
    )
