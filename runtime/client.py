"""Running and managing runs from Python: ``run``, ``arun``, ``Client``, ``Handle``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, insert, select, update

from durablec.errors import DurablecError, RunFailedError, RunNotFoundError, RunSuspendedError, UsageError
from durablec.runtime.control import Suspend
from durablec.runtime.engine import run_scope
from durablec.runtime.journal import TERMINAL, Journal, now, runs, steps
from durablec.runtime.journal import events as events_table
from durablec.runtime.lease import Owner
from durablec.runtime import schedstore
from durablec.runtime.runner import Outcome, create_run, execute, journal_for, outcome_of, start
from durablec.runtime.schedstore import ScheduleInfo
from durablec.runtime.schedule import DEFAULT_CATCHUP_LIMIT, Catchup, Cron
from durablec.runtime.serde import Codec, preview
from durablec.runtime.task import Task, as_task, lookup

__all__ = ["Client", "Handle", "RunInfo", "RunRows", "arun", "run", "send_event", "trigger_task"]

R = TypeVar("R")
TaskLike = Task[Any, R] | Callable[..., Coroutine[Any, Any, R]]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as the journal describes it."""

    id: str
    task_id: str
    status: str
    created_at: float
    updated_at: float
    finished_at: float | None
    wake_at: float | None
    waiting_for: str | None
    error_type: str | None
    error_message: str | None
    result_repr: str | None
    args_repr: str | None
    parent_run_id: str | None
    lease_owner: str | None


@dataclass(frozen=True, slots=True)
class RunRows:
    """A run's rows as stored, every column by name (payloads as bytes): what an export holds."""

    run: dict[str, Any]
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]


def _info(row: Any) -> RunInfo:
    return RunInfo(
        row.id, row.task_id, row.status, row.created_at, row.updated_at, row.finished_at,
        row.wake_at, row.waiting_for, row.error_type, row.error_message, row.result_repr,
        row.args_repr, row.parent_run_id, row.lease_owner,
    )


def result_of(outcome: Outcome) -> Any:
    """The run's result, or the matching exception for a run that did not complete."""
    if outcome.status == "completed":
        return outcome.result
    if outcome.status in ("failed", "dead_lettered"):
        if outcome.error is not None:
            raise outcome.error
        raise RunFailedError(outcome.run_id, outcome.status,
                             f"run {outcome.run_id} {outcome.status}: {outcome.message}")
    if outcome.status == "cancelled":
        raise RunFailedError(outcome.run_id, "cancelled", f"run {outcome.run_id} was cancelled")
    if outcome.status == "paused" and isinstance(outcome.error, DurablecError):
        # Non-determinism or an unserializable result: the run waits for a code fix.
        raise outcome.error
    detail = f": {outcome.message}" if outcome.message else ""
    if outcome.status == "paused":
        # Workers never pick up paused runs: a person decides.
        what_next = (f"after fixing the cause, `durablec retry {outcome.run_id}` makes it due again, "
                     f"or `durablec cancel {outcome.run_id}` ends it")
    else:
        what_next = (f"a worker resumes it (`durablec worker TARGET`), or resume it with "
                     f"`durablec run TARGET --run-id {outcome.run_id}`")
    raise RunSuspendedError(
        outcome.run_id, outcome.status, f"run {outcome.run_id} is {outcome.status}{detail}; {what_next}"
    )


async def arun(
    task: TaskLike[R], *args: Any, db: str | None = None, run_id: str | None = None, **kwargs: Any
) -> R:
    """Run ``task`` to its end in this process (or resume run ``run_id``) and return its result."""
    made = as_task(task)
    journal = journal_for(db)
    if run_id is None:
        outcome: Outcome | None = await start(journal, made, args, kwargs)
    else:
        owner = Owner.here()
        run_id, _ = create_run(journal, made, args, kwargs, run_id=run_id, holder=owner)
        outcome = await execute(
            journal, run_id, lambda task_id: made if task_id == made.id else lookup(task_id),
            owner=owner,
        )
    assert outcome is not None
    result: R = result_of(outcome)
    return result


def run(
    task: TaskLike[R], *args: Any, db: str | None = None, run_id: str | None = None, **kwargs: Any
) -> R:
    """:func:`arun` from synchronous code (starts an event loop)."""
    return asyncio.run(arun(task, *args, db=db, run_id=run_id, **kwargs))


class Handle(Generic[R]):
    """A run started with ``trigger``: its id, and its result once it has one."""

    def __init__(self, run_id: str, journal: Journal) -> None:
        self.run_id = run_id
        self._journal = journal

    def __repr__(self) -> str:
        return f"<durablec handle {self.run_id}>"

    async def result(self, timeout: float | None = None) -> R:
        """Wait for the run to finish and return its result (raise its exception).

        Inside a durable run the waiting suspends the calling run until the child finishes.
        """
        scope = run_scope()
        if scope is not None:
            outcome = self._finished()
            if outcome is None:
                raise scope.run.suspend_now(
                    Suspend("waiting", f"waiting for child run {self.run_id}",
                            waiting_for=f"run:{self.run_id}")
                )
            value: R = result_of(outcome)
            return value
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        pause = 0.02
        while True:
            outcome = self._finished()
            if outcome is not None:
                done: R = result_of(outcome)
                return done
            if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(f"run {self.run_id} did not finish within {timeout} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _finished(self) -> Outcome | None:
        with self._journal.begin() as conn:
            row = conn.execute(select(runs).where(runs.c.id == self.run_id)).one_or_none()
        if row is None:
            raise RunNotFoundError(f"no run {self.run_id!r} in the journal at {self._journal.url}")
        if row.status not in TERMINAL:
            return None
        return outcome_of(row, Codec.from_env())


def trigger_task(
    task: Task[Any, R], args: tuple[Any, ...], kwargs: dict[str, Any],
    *, idempotency_key: str | None = None, db: str | None = None,
) -> Handle[R]:
    """Start a run of ``task``; inside a run the child's id derives from the parent's step key."""
    scope = run_scope()
    if scope is not None:
        context = scope.run
        run_id = f"{context.run_id}.{scope.next_key()}"
        if context.check_only:
            return Handle(run_id, context.journal)
        create_run(context.journal, task, args, kwargs, run_id=run_id,
                   parent_run_id=context.run_id)
        return Handle(run_id, context.journal)
    journal = journal_for(db)
    run_id, _ = create_run(journal, task, args, kwargs, idempotency_key=idempotency_key)
    return Handle(run_id, journal)


def send_event(run_id: str, name: str, payload: Any = None, *, db: str | None = None) -> None:
    """Deliver event ``name`` to run ``run_id`` and wake it if it waits for that event."""
    _send_event(journal_for(db), run_id, name, payload)


def _send_event(journal: Journal, run_id: str, name: str, payload: Any) -> None:
    codec = Codec.from_env()
    with journal.begin() as conn:
        status = conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar_one_or_none()
        if status is None:
            raise RunNotFoundError(f"no run {run_id!r} in the journal at {journal.url}")
        if status in TERMINAL:
            raise UsageError(f"run {run_id} is {status}; it can no longer receive events")
        conn.execute(
            insert(events_table).values(
                run_id=run_id, name=name, payload=codec.dumps(payload, f"{run_id}/event/{name}"),
                payload_repr=preview(payload), created_at=now(),
            )
        )
        conn.execute(
            update(runs)
            .where(and_(runs.c.id == run_id, runs.c.status == "waiting", runs.c.waiting_for == name))
            .values(status="pending", wake_at=None, updated_at=now())
        )


class Client:
    """Start, look at and steer runs in the journal at ``db`` (from any process)."""

    def __init__(self, db: str | None = None) -> None:
        self.journal = journal_for(db)

    def trigger(
        self, task: Task[Any, R] | str, *args: Any, idempotency_key: str | None = None,
        concurrency_key: str | None = None, **kwargs: Any,
    ) -> Handle[R]:
        """Enqueue a run (a worker that loaded the task executes it); returns its handle.

        ``concurrency_key`` (e.g. a tenant id) overrides the key the task computes for its
        queue's ``per_key`` limit.
        """
        made = lookup(task) if isinstance(task, str) else task
        run_id, _ = create_run(self.journal, made, args, kwargs, idempotency_key=idempotency_key,
                               concurrency_key=concurrency_key)
        return Handle(run_id, self.journal)

    def handle(self, run_id: str) -> Handle[Any]:
        return Handle(run_id, self.journal)

    def get(self, run_id: str) -> RunInfo:
        with self.journal.begin() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r} in the journal at {self.journal.url}")
        return _info(row)

    def runs(
        self, status: str | None = None, task: str | None = None, limit: int = 100
    ) -> list[RunInfo]:
        """Runs, newest first, optionally filtered by status and task id."""
        query = select(runs).order_by(runs.c.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(runs.c.status == status)
        if task is not None:
            query = query.where(runs.c.task_id == task)
        with self.journal.begin() as conn:
            return [_info(row) for row in conn.execute(query)]

    def steps(self, run_id: str) -> list[Any]:
        """Every recorded attempt of the run, in order."""
        self.get(run_id)
        with self.journal.begin() as conn:
            return list(conn.execute(select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id)))

    def rows(self, run_id: str) -> RunRows:
        """The run's row, its step attempts and its events, in recording order."""
        with self.journal.begin() as conn:
            run = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
            if run is None:
                raise RunNotFoundError(f"no run {run_id!r} in the journal at {self.journal.url}")
            attempts = conn.execute(select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id))
            sent = conn.execute(select(events_table).where(events_table.c.run_id == run_id)
                                .order_by(events_table.c.id))
            return RunRows(dict(run._mapping), [dict(row._mapping) for row in attempts],
                           [dict(row._mapping) for row in sent])

    def send_event(self, run_id: str, name: str, payload: Any = None) -> None:
        _send_event(self.journal, run_id, name, payload)

    def retry(self, run_id: str) -> None:
        """Make a paused, failed or dead-lettered run pending again; failed steps run again."""
        info = self.get(run_id)
        if info.status not in ("paused", "failed", "dead_lettered"):
            raise UsageError(
                f"run {run_id} is {info.status}; only paused, failed or dead-lettered runs can be retried"
            )
        with self.journal.begin() as conn:
            conn.execute(
                update(steps)
                # A failed body row stays final: it ends the body's budget, and the
                # resume restarts the body from its last checkpoint with a new one.
                .where(and_(steps.c.run_id == run_id, steps.c.outcome == "error", steps.c.final,
                            steps.c.kind != "body"))
                .values(final=False)
            )
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status="pending", attempt=runs.c.attempt + 1, result=None,
                        error_type=None, error_message=None, finished_at=None, wake_at=None,
                        updated_at=now())
            )

    def cancel(self, run_id: str) -> None:
        """Cancel a run that has not finished; its executor loses the lease and stops."""
        info = self.get(run_id)
        if info.status in TERMINAL:
            raise UsageError(f"run {run_id} is already {info.status}")
        with self.journal.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status="cancelled", lease_epoch=runs.c.lease_epoch + 1, lease_owner=None,
                        lease_expires_at=None, finished_at=now(), updated_at=now())
            )

    # -- schedules (docs/runtime.md, "Schedules") ------------------------------------------------

    def add_schedule(
        self, task: Task[Any, Any] | str, cron: str | Sequence[str], *,
        args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None, id: str | None = None,
        timezone: str = "UTC", catchup: Catchup = "skip",
        catchup_limit: int = DEFAULT_CATCHUP_LIMIT,
        overlap: bool = True,
    ) -> ScheduleInfo:
        """Start a run of ``task`` with these arguments at each slot of ``cron``, fired by the
        workers that load the task. ``id`` defaults to the task id and a random suffix."""
        made = Cron.of(cron, timezone=timezone, catchup=catchup, catchup_limit=catchup_limit,
                       overlap=overlap)
        return schedstore.add(self.journal, task, made, tuple(args), dict(kwargs or {}),
                              schedule_id=id)

    def schedule(self, schedule_id: str) -> ScheduleInfo:
        return schedstore.get(self.journal, schedule_id)

    def schedules(self, task: str | None = None) -> list[ScheduleInfo]:
        """Every schedule (declared in code or added), by id, optionally of one task id."""
        return schedstore.list_schedules(self.journal, task)

    def pause_schedule(self, schedule_id: str) -> ScheduleInfo:
        return schedstore.set_paused(self.journal, schedule_id, True)

    def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        """Fire again from the next slot; the slots passed while paused are not caught up."""
        return schedstore.set_paused(self.journal, schedule_id, False)

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete an added schedule (its runs stay); a schedule declared in code is refused."""
        schedstore.delete_schedule(self.journal, schedule_id)

    def trigger_schedule(self, schedule_id: str) -> str:
        """Have a worker of the schedule's task start a run now, paused or busy; returns the id
        that run will have (it exists once a worker has fired it)."""
        return schedstore.trigger_now(self.journal, schedule_id)
