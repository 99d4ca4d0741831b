"""The read side of a run's history: its row, every step attempt and every event, at once."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from durablec.runtime.model import EventInfo, StepInfo, Timeline
from durablec.runtime.store.database import Journal
from durablec.runtime.store.runs import missing, record
from durablec.runtime.store.schema import events, runs, steps

__all__ = ["ArgsPreview", "timeline"]

ArgsPreview = Callable[[bytes, str], str]
"""Reads a step's pickled arguments (and its key) as text: the store does not unpickle."""


def timeline(journal: Journal, run_id: str, preview_args: ArgsPreview) -> Timeline:
    """The run, its step attempts in recording order and its events in arrival order, read in
    one transaction so that they agree with each other."""
    with journal.begin() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            raise missing(journal, run_id)
        step_rows = conn.execute(
            select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id)).all()
        event_rows = conn.execute(
            select(events.c.id, events.c.name, events.c.payload_repr, events.c.consumed_key,
                   events.c.created_at)
            .where(events.c.run_id == run_id).order_by(events.c.id)).all()
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
            )
            for step in step_rows
        ),
        tuple(EventInfo(*event) for event in event_rows),
    )
