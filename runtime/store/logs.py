"""Task logs in the journal: written in the transaction of a run's step or end, read by the
timeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select

from durablec.runtime.store.database import Journal
from durablec.runtime.store.schema import logs

__all__ = ["insert_logs", "logged_counts", "step_with_logs"]


def insert_logs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert task log rows (every column but ``id``) in the caller's transaction."""
    if rows:
        conn.execute(insert(logs), list(rows))


def step_with_logs(
    journal: Journal, values: dict[str, Any], rows: list[dict[str, Any]]
) -> Callable[[Connection], int | None]:
    """A step's write (as ``journal.insert_step``) that carries the task's log rows: they are
    committed only with the step's row, not when the lease was lost."""
    insert_step = journal.insert_step

    def write(conn: Connection) -> int | None:
        step_id = insert_step(conn, values)
        if step_id is not None:
            insert_logs(conn, rows)
        return step_id
    return write


def logged_counts(conn: Connection, run_id: str) -> dict[tuple[int, str], int]:
    """How many log rows the run has per (body attempt, position): what a resume's code writes
    again there is a replay's."""
    rows = conn.execute(
        select(logs.c.attempt, logs.c.position, func.count())
        .where(logs.c.run_id == run_id).group_by(logs.c.attempt, logs.c.position))
    return {(attempt, position): count for attempt, position, count in rows}
