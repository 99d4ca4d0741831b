"""Task logs in the journal: written in the transaction of a run's step or end, read by the
timeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select

from durablec.runtime.store.batch import Batch
from durablec.runtime.store.database import Journal, fenced_insert
from durablec.runtime.store.schema import logs

__all__ = ["insert_logs", "logged_counts", "send_logs", "step_with_logs"]

_LOG_COLUMNS: Final = tuple(column.name for column in logs.c if column.name != "id")


def insert_logs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert task log rows (every column but ``id``) in the caller's transaction."""
    if rows:
        conn.execute(insert(logs), list(rows))


def send_logs(journal: Journal, batch: Batch, rows: Sequence[dict[str, Any]],
              fence: dict[str, Any]) -> None:
    """Send task log rows in a group commit's batch, each written only while the run's lease
    holds (``fence``: its ``fence_run`` and ``fence_epoch``), as the write they come with."""
    if rows:
        statement = journal.prepare(("logs",), lambda: fenced_insert(logs, _LOG_COLUMNS))
        for row in rows:
            statement.send(batch, {**row, **fence})


def step_with_logs(
    journal: Journal, values: dict[str, Any], rows: list[dict[str, Any]]
) -> Callable[[Batch], Callable[[], int | None]]:
    """A step's write (as ``journal.insert_step``) that carries the task's log rows: they are
    committed only with the step's row, not when the lease was lost (they carry its fence)."""
    insert_step = journal.insert_step
    fence = {"fence_run": values["fence_run"], "fence_epoch": values["fence_epoch"]}

    def write(batch: Batch) -> Callable[[], int | None]:
        step_id = insert_step(batch, values)
        send_logs(journal, batch, rows, fence)
        return step_id
    return write


def logged_counts(conn: Connection, run_id: str) -> dict[tuple[int, str], int]:
    """How many log rows the run has per (body attempt, position): what a resume's code writes
    again there is a replay's."""
    rows = conn.execute(
        select(logs.c.attempt, logs.c.position, func.count())
        .where(logs.c.run_id == run_id).group_by(logs.c.attempt, logs.c.position))
    return {(attempt, position): count for attempt, position, count in rows}
