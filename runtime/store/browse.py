"""The dashboard's read side: paged run listings with filters, counts by status, queue loads and
the workers that hold leases. Each is one indexed query (see schema.py's run indexes)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_, select

from durablec.runtime.model import QueueLoad, RunFilter, RunPage, RunSummary, WorkerInfo
from durablec.runtime.store.database import Journal, now
from durablec.runtime.store.runs import missing
from durablec.runtime.store.schema import runs, steps

__all__ = [
    "browse_runs", "count_by_status", "dead_letter_loads", "http_bodies", "queue_loads",
    "run_summary", "step_args", "task_ids", "workers",
]

_SUMMARY = (
    runs.c.id, runs.c.task_id, runs.c.status, runs.c.queue, runs.c.attempt, runs.c.created_at,
    runs.c.updated_at, runs.c.finished_at, runs.c.parent_run_id, runs.c.idempotency_key,
    runs.c.module_hash, runs.c.waiting_for, runs.c.error_type, runs.c.error_message,
)


def _where(chosen: RunFilter, *, with_status: bool = True) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if with_status and chosen.status:
        clauses.append(runs.c.status == chosen.status)
    if chosen.task_id:
        clauses.append(runs.c.task_id == chosen.task_id)
    if chosen.queue:
        clauses.append(runs.c.queue == chosen.queue)
    if chosen.since is not None:
        clauses.append(runs.c.created_at >= chosen.since)
    if chosen.until is not None:
        clauses.append(runs.c.created_at < chosen.until)
    if chosen.search:
        # Each branch of the OR is indexed, so SQLite and PostgreSQL answer it from indexes: the
        # id prefix as a primary-key range, the parent by its index, the idempotency key through
        # the (task_id, idempotency_key) unique index, once per task.
        text = chosen.search
        every_task = select(runs.c.task_id).distinct().scalar_subquery()
        clauses.append(or_(
            and_(runs.c.id >= text, runs.c.id < text + "\U0010ffff"),
            and_(runs.c.task_id.in_(every_task), runs.c.idempotency_key == text),
            runs.c.parent_run_id == text,
        ))
    return clauses


def browse_runs(journal: Journal, chosen: RunFilter, *, offset: int = 0,
                limit: int = 50) -> RunPage:
    """One page of the runs ``chosen`` selects, newest first."""
    query = (select(*_SUMMARY).where(and_(True, *_where(chosen)))
             .order_by(runs.c.created_at.desc(), runs.c.id.desc())
             .offset(offset).limit(limit + 1))
    with journal.begin() as conn:
        rows = conn.execute(query).all()
    found = tuple(RunSummary(**row._mapping) for row in rows[:limit])
    return RunPage(found, offset, limit, len(rows) > limit)


def count_by_status(journal: Journal, chosen: RunFilter) -> dict[str, int]:
    """How many runs ``chosen`` selects in each status (its own status filter ignored)."""
    query = (select(runs.c.status, func.count())
             .where(and_(True, *_where(chosen, with_status=False))).group_by(runs.c.status))
    with journal.begin() as conn:
        return {status: count for status, count in conn.execute(query)}


def run_summary(journal: Journal, run_id: str) -> RunSummary:
    with journal.begin() as conn:
        row = conn.execute(select(*_SUMMARY).where(runs.c.id == run_id)).one_or_none()
    if row is None:
        raise missing(journal, run_id)
    return RunSummary(**row._mapping)


def task_ids(journal: Journal) -> list[str]:
    """Every task id in the journal, sorted (read from the task/status index)."""
    with journal.begin() as conn:
        return list(conn.execute(select(runs.c.task_id).distinct().order_by(runs.c.task_id))
                    .scalars())


def queue_loads(journal: Journal) -> list[QueueLoad]:
    """Unfinished runs counted by queue, task and status."""
    live = ("pending", "running", "sleeping", "waiting", "paused")
    query = (select(runs.c.queue, runs.c.task_id, runs.c.status, func.count())
             .where(runs.c.status.in_(live))
             .group_by(runs.c.queue, runs.c.task_id, runs.c.status)
             .order_by(runs.c.queue, runs.c.task_id, runs.c.status))
    with journal.begin() as conn:
        return [QueueLoad(*row) for row in conn.execute(query)]


def dead_letter_loads(journal: Journal) -> list[QueueLoad]:
    """Dead-lettered runs counted by dead-letter queue (as ``queue``) and task, the queues that
    ``Client.redrive`` empties (through the status/wake_at index)."""
    query = (select(runs.c.dead_letter, runs.c.task_id, runs.c.status, func.count())
             .where(runs.c.status == "dead_lettered", runs.c.dead_letter.is_not(None))
             .group_by(runs.c.dead_letter, runs.c.task_id, runs.c.status)
             .order_by(runs.c.dead_letter, runs.c.task_id))
    with journal.begin() as conn:
        return [QueueLoad(*row) for row in conn.execute(query)]


def workers(journal: Journal) -> list[WorkerInfo]:
    """The owners of unexpired leases, with how many runs each holds."""
    query = (select(runs.c.lease_owner, func.max(runs.c.lease_host), func.max(runs.c.lease_pid),
                    func.count(), func.max(runs.c.lease_expires_at))
             .where(runs.c.lease_owner.is_not(None), runs.c.lease_expires_at > now())
             .group_by(runs.c.lease_owner).order_by(runs.c.lease_owner))
    with journal.begin() as conn:
        return [WorkerInfo(*row) for row in conn.execute(query)]


def http_bodies(journal: Journal, run_id: str) -> dict[int, str]:
    """The HTTP response bodies the run's step attempts recorded, by step attempt id."""
    query = (select(steps.c.id, steps.c.http_body)
             .where(steps.c.run_id == run_id, steps.c.http_body.is_not(None)))
    with journal.begin() as conn:
        return {step_id: body for step_id, body in conn.execute(query)}


def step_args(journal: Journal, run_id: str) -> list[tuple[int, str, bytes]]:
    """(step attempt id, key, pickled arguments as stored) of the run's steps that have them."""
    query = (select(steps.c.id, steps.c.key, steps.c.args)
             .where(steps.c.run_id == run_id, steps.c.args.is_not(None)).order_by(steps.c.id))
    with journal.begin() as conn:
        return [(step_id, key, blob) for step_id, key, blob in conn.execute(query)]
