"""Running and managing runs from Python: ``run``, ``arun`` (from inprocess.py), ``Client``,
``Handle``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from durablec.errors import RunNotFoundError, TamperedPayloadError, UsageError
from durablec.runtime import store
from durablec.runtime.control import Suspend
from durablec.runtime.creation import create_run
from durablec.runtime.engine import run_scope
from durablec.runtime.inprocess import TaskLike as TaskLike
from durablec.runtime.inprocess import arun, result_of, run, run_here
from durablec.runtime.model import RUN_STATUSES, TERMINAL, RunRows
from durablec.runtime.runner import Outcome, journal_for, outcome_of
from durablec.runtime.schedule import DEFAULT_CATCHUP_LIMIT, Catchup, Cron
from durablec.runtime.serde import Codec, preview
from durablec.runtime.store import Journal
from durablec.runtime.task import Task, lookup

if TYPE_CHECKING:
    from durablec.runtime.scheduler import ScheduleInfo
    from durablec.runtime.views import (
        QueueLoad,
        RunFilter,
        RunInfo,
        RunPage,
        RunSummary,
        StatusCount,
        Timeline,
        WorkerInfo,
    )

__all__ = ["Client", "Handle", "RunRows", "arun", "resume", "result_of", "run", "send_event",
           "trigger_task"]

R = TypeVar("R")


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
        row = store.get_run(self._journal, self.run_id)
        if row.status not in TERMINAL:
            return None
        return outcome_of(row, Codec.from_env(), self._journal)


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
    blob = Codec.from_env().dumps(payload, f"{run_id}/event/{name}")
    status = store.deliver_event(journal, run_id, name, blob, preview(payload))
    if status in TERMINAL:
        raise UsageError(f"run {run_id} is {status}; it can no longer receive events")


def json_value(value: Any) -> Any:
    """``value`` itself when JSON can represent it as it is, else its repr."""
    import json

    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    if isinstance(value, tuple):
        return repr(value)  # JSON would turn it into a list: not the value any more
    return value


class Client:
    """Start, look at and steer runs in the journal at ``db`` (from any process)."""

    def __init__(self, db: str | None = None, *, create: bool = True) -> None:
        """``create=False``: a journal that does not exist yet is refused (JournalError), not
        created, for code that only reads."""
        self.journal = journal_for(db, create=create)

    def trigger(
        self, task: Task[Any, R] | str, *args: Any, idempotency_key: str | None = None,
        concurrency_key: str | None = None, **kwargs: Any,
    ) -> Handle[R]:
        """Enqueue a run (a worker that loaded the task executes it); returns its handle.

        ``concurrency_key`` (e.g. a tenant id) overrides the key the task computes for its
        queue's ``per_key`` limit.
        """
        return self.enqueue(task, args, kwargs, idempotency_key=idempotency_key,
                            concurrency_key=concurrency_key)

    def enqueue(
        self, task: Task[Any, R] | str, args: tuple[Any, ...], kwargs: dict[str, Any], *,
        idempotency_key: str | None = None, concurrency_key: str | None = None,
    ) -> Handle[R]:
        """:meth:`trigger` with the arguments as a tuple and a dict, so that no argument of the
        task can be taken for one of ``trigger``'s own options."""
        made = lookup(task) if isinstance(task, str) else task
        run_id, _ = create_run(self.journal, made, args, kwargs, idempotency_key=idempotency_key,
                               concurrency_key=concurrency_key)
        return Handle(run_id, self.journal)

    def handle(self, run_id: str) -> Handle[Any]:
        return Handle(run_id, self.journal)

    async def run_here(
        self, task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], *,
        run_id: str | None = None, on_start: Callable[[str, bool], None] | None = None,
        max_wait: float = 0.0, on_wait: Callable[[Outcome], None] | None = None,
    ) -> Outcome:
        """Execute a run of ``task`` in this process (or resume run ``run_id``), waiting through
        sleeps and backoffs due within ``max_wait`` seconds: see :func:`run_here`.
        :func:`result_of` turns the outcome into the result or exception."""
        return await run_here(self.journal, task, args, kwargs, run_id=run_id, on_start=on_start,
                              max_wait=max_wait, on_wait=on_wait)

    def resolve(self, run_id: str) -> str:
        """The id of the one run whose id is ``run_id`` or starts with it (as git takes a short
        commit id); RunNotFoundError for none, UsageError naming the candidates for several."""
        found = store.ids_starting(self.journal, run_id, limit=6)
        if not found:
            raise RunNotFoundError(f"no run {run_id!r} in the journal at {self.journal.url}")
        if len(found) > 1:
            listed = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
            raise UsageError(f"run id {run_id!r} is ambiguous: {listed} start with it; "
                             "give more characters")
        return found[0]

    def get(self, run_id: str) -> RunInfo:
        return store.get_run(self.journal, run_id).info()

    def runs(
        self, status: str | None = None, task: str | None = None, limit: int = 100, *,
        queue: str | None = None, dead_letter: str | None = None, since: float | None = None,
    ) -> list[RunInfo]:
        """Runs, newest first, optionally filtered by status, task id, queue, dead-letter queue
        and creation time (``since``, seconds since the epoch)."""
        if status is not None and status not in RUN_STATUSES:
            raise UsageError(f"no run status {status!r}; the statuses are "
                             f"{', '.join(RUN_STATUSES)}")
        found = store.list_runs(self.journal, status=status, task_id=task, limit=limit,
                                queue=queue, dead_letter=dead_letter, since=since)
        return [record.info() for record in found]

    def status_counts(self) -> list[StatusCount]:
        """How many runs each task has in each status, per queue (``runs --summary``)."""
        return store.status_counts(self.journal)

    def timeline(self, run_id: str) -> Timeline:
        """What happened in the run: its state, every step attempt and every event, in order."""
        codec = Codec.from_env()

        def preview_args(blob: bytes, key: str) -> str:
            try:
                args, kwargs = codec.loads(blob, f"{run_id}/{key}/args")
                shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
                text = ", ".join(shown)
            except Exception:  # noqa: BLE001 - a preview is best effort (classes may be gone)
                return f"<{len(blob)} bytes>"
            return text if len(text) <= 80 else text[:79] + "…"

        def decode(blob: bytes, context: str) -> Any:
            try:
                value = codec.loads(blob, context)
            except Exception:  # noqa: BLE001 - unreadable here (a class gone): no value shown
                return None
            if context.endswith("/args") and isinstance(value, tuple) and len(value) == 2:
                args, kwargs = value
                return {"args": [json_value(a) for a in args],
                        "kwargs": {str(k): json_value(v) for k, v in kwargs.items()}}
            return json_value(value)

        return store.timeline(self.journal, run_id, preview_args, decode)

    def rows(self, run_id: str) -> RunRows:
        """The run's row, its step attempts and its events as stored, in recording order."""
        return store.run_rows(self.journal, run_id)

    def send_event(self, run_id: str, name: str, payload: Any = None) -> None:
        _send_event(self.journal, run_id, name, payload)

    def retry(self, run_id: str) -> None:
        """Make a paused, failed or dead-lettered run pending again; failed steps run again."""
        info = self.get(run_id)
        if info.status not in ("paused", "failed", "dead_lettered"):
            raise UsageError(
                f"run {run_id} is {info.status}; only paused, failed or dead-lettered runs can be retried"
            )
        store.reset_for_retry(self.journal, run_id)

    def fork(self, run_id: str, key: str) -> RunInfo:
        """A new pending run of the same task and arguments that replays the steps ``run_id``
        recorded before step ``key`` and runs from ``key`` live (for a run that went wrong
        after a bad step: fix the cause, fork from that step)."""
        from durablec.runtime.creation import new_run_id

        codec = Codec.from_env()

        def recode(blob: bytes, before: str, after: str) -> bytes:
            return codec.dumps(codec.loads(blob, before), after)

        return store.fork_run(self.journal, run_id, key, new_run_id(), recode).info()

    def redrive(self, dead_letter: str) -> list[str]:
        """Retry every run dead-lettered into queue ``dead_letter`` (see :meth:`retry`); their
        ids, oldest first."""
        found = store.list_runs(self.journal, status="dead_lettered", dead_letter=dead_letter,
                                limit=1_000_000)
        redriven = [record.id for record in reversed(found)]
        for run_id in redriven:
            store.reset_for_retry(self.journal, run_id)
        return redriven

    def cancel(self, run_id: str) -> None:
        """Cancel a run that has not finished; its executor loses the lease and stops."""
        info = self.get(run_id)
        if info.status in TERMINAL:
            raise UsageError(f"run {run_id} is already {info.status}")
        store.cancel(self.journal, run_id)

    # -- the dashboard's reads (docs/ui.md) -------------------------------------------------------

    def browse(self, chosen: RunFilter, *, offset: int = 0, limit: int = 50) -> RunPage:
        """One page of the runs ``chosen`` selects, newest first."""
        return store.browse_runs(self.journal, chosen, offset=offset, limit=limit)

    def counts(self, chosen: RunFilter) -> dict[str, int]:
        """Runs ``chosen`` selects, counted by status (its status filter ignored)."""
        return store.count_by_status(self.journal, chosen)

    def summary(self, run_id: str) -> RunSummary:
        """The run's identifying columns: queue, attempt, idempotency key, module hash."""
        return store.run_summary(self.journal, run_id)

    def task_ids(self) -> list[str]:
        return store.task_ids(self.journal)

    def refused_payloads(self, run_id: str) -> dict[int, str]:
        """Why the journal's codec refuses the stored arguments of some of the run's steps (a
        failed HMAC check under DURABLEC_SECRET, an unsigned row with a secret set, ...), by step
        attempt id. Only signatures are checked: nothing is unpickled."""
        codec = Codec.from_env()
        refused = {}
        for step_id, key, blob in store.step_args(self.journal, run_id):
            try:
                codec.verified(blob, f"{run_id}/{key}/args")
            except TamperedPayloadError as error:
                refused[step_id] = str(error)
        return refused

    def http_bodies(self, run_id: str) -> dict[int, str]:
        """The HTTP response bodies recorded by the run's step attempts, by step attempt id."""
        return store.http_bodies(self.journal, run_id)

    def queue_loads(self) -> list[QueueLoad]:
        return store.queue_loads(self.journal)

    def workers(self) -> list[WorkerInfo]:
        return store.workers(self.journal)

    def dead_letter_loads(self) -> list[QueueLoad]:
        """Dead-lettered runs counted by dead-letter queue (``queue``) and task: what
        :meth:`redrive` would take."""
        return store.dead_letter_loads(self.journal)

    # -- schedules (docs/runtime.md, "Schedules") ------------------------------------------------
    # The scheduler is imported by the methods that use it: a process that only runs tasks
    # (durablec.arun, a resume) does not pay for loading it.

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
        from durablec.runtime import scheduler

        return scheduler.add(self.journal, task, made, tuple(args), dict(kwargs or {}),
                             schedule_id=id)

    def schedule(self, schedule_id: str) -> ScheduleInfo:
        from durablec.runtime import scheduler

        return scheduler.get(self.journal, schedule_id)

    def schedules(self, task: str | None = None) -> list[ScheduleInfo]:
        """Every schedule (declared in code or added), by id, optionally of one task id."""
        from durablec.runtime import scheduler

        return scheduler.list_schedules(self.journal, task)

    def pause_schedule(self, schedule_id: str) -> ScheduleInfo:
        from durablec.runtime import scheduler

        return scheduler.set_paused(self.journal, schedule_id, True)

    def resume_schedule(self, schedule_id: str) -> ScheduleInfo:
        """Fire again from the next slot; the slots passed while paused are not caught up."""
        from durablec.runtime import scheduler

        return scheduler.set_paused(self.journal, schedule_id, False)

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete an added schedule (its runs stay); a schedule declared in code is refused."""
        from durablec.runtime import scheduler

        scheduler.delete_schedule(self.journal, schedule_id)

    def trigger_schedule(self, schedule_id: str) -> str:
        """Have a worker of the schedule's task start a run now, paused or busy; returns the id
        that run will have (it exists once a worker has fired it)."""
        from durablec.runtime import scheduler

        return scheduler.trigger_now(self.journal, schedule_id)
