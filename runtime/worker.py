"""The worker: executes due runs of the tasks it has loaded, until stopped.

A run is due when it is pending, when its sleep or event timeout has come, or when it is marked
running but its lease expired (or its holder on this machine is gone): the worker takes the
lease and resumes the run by replay.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select

from durablec.errors import DurablecError
from durablec.runtime.journal import now, runs
from durablec.runtime.lease import Owner, holder_alive
from durablec.runtime.runner import Outcome, execute, journal_for
from durablec.runtime.task import Task, lookup, registered

__all__ = ["work"]


async def work(
    db: str | None = None,
    tasks: Iterable[Task[Any, Any]] | None = None,
    *,
    concurrency: int = 4,
    poll: float = 0.2,
    until_idle: bool = False,
    stop: asyncio.Event | None = None,
) -> list[Outcome]:
    """Execute due runs until ``stop`` is set (or, with ``until_idle``, nothing is due).

    Returns the outcomes of the executions it made, in completion order.
    """
    journal = journal_for(db)
    known = {t.id: t for t in tasks} if tasks is not None else registered()
    owner = Owner.here()
    outcomes: list[Outcome] = []
    running: dict[str, asyncio.Task[None]] = {}

    def find(task_id: str) -> Task[Any, Any]:
        return known.get(task_id) or lookup(task_id)

    async def one(run_id: str) -> None:
        try:
            outcome = await execute(journal, run_id, find, wait=False, owner=owner)
        except DurablecError as exc:
            print(f"durablec worker: run {run_id}: {exc}", file=sys.stderr)
            return
        if outcome is not None:
            outcomes.append(outcome)

    while stop is None or not stop.is_set():
        for run_id, job in list(running.items()):
            if job.done():
                del running[run_id]
        free = concurrency - len(running)
        due = _due(journal, list(known), owner, free) if free > 0 else []
        due = [run_id for run_id in due if run_id not in running]
        for run_id in due:
            running[run_id] = asyncio.create_task(one(run_id))
        if until_idle and not due and not running:
            break
        if running and not due:
            await asyncio.wait(running.values(), timeout=poll, return_when=asyncio.FIRST_COMPLETED)
        elif not due:
            await asyncio.sleep(poll)
        else:
            await asyncio.sleep(0)
    for job in running.values():
        job.cancel()
    return outcomes


def _due(journal: Any, task_ids: list[str], owner: Owner, limit: int) -> list[str]:
    at = now()
    query = (
        select(runs)
        .where(
            and_(
                runs.c.task_id.in_(task_ids),
                or_(
                    runs.c.status == "pending",
                    and_(runs.c.status.in_(("sleeping", "waiting")), runs.c.wake_at <= at),
                    and_(
                        runs.c.status == "running",
                        or_(runs.c.lease_expires_at < at, runs.c.lease_host == owner.host),
                    ),
                ),
            )
        )
        .order_by(runs.c.created_at)
        .limit(limit * 4)
    )
    with journal.begin() as conn:
        rows = list(conn.execute(query))
    return [row.id for row in rows if not holder_alive(row, owner, at)][:limit]
