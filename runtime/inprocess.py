"""Running a task to its end in this process: ``arun`` and ``run`` (``durablec.arun`` and
``durablec.run``), ``run_here`` and ``result_of``.

Apart from client.py, which re-exports them next to the :class:`~durablec.runtime.client.Client`
that manages runs, so that a process that only runs tasks (a script, a resume) does not compile
and build the whole client on its way to the first step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from durablec.errors import DurablecError, RunFailedError, RunSuspendedError
from durablec.runtime.creation import create_run
from durablec.runtime.lease import Owner
from durablec.runtime.runner import Outcome, execute, journal_for, start
from durablec.runtime.store import Journal
from durablec.runtime.task import Task, as_task, lookup

__all__ = ["TaskLike", "arun", "result_of", "run", "run_here"]

R = TypeVar("R")
TaskLike = Task[Any, R] | Callable[..., Coroutine[Any, Any, R]]


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
        outcome = await start(journal, made, args, kwargs)
    else:
        outcome = await run_here(journal, made, args, kwargs, run_id=run_id)
    result: R = result_of(outcome)
    return result


async def run_here(
    journal: Journal, task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], *,
    run_id: str | None = None, on_start: Callable[[str, bool], None] | None = None,
    max_wait: float = 0.0, on_wait: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Execute a new run of ``task`` in this process, or resume run ``run_id`` by replay
    (waiting out another holder's lease); ``on_start(run_id, created)`` is told which.

    A run that suspends on a durable sleep or a retry backoff due within ``max_wait`` seconds
    of the start is waited for here and resumed (``on_wait(outcome)`` told of each wait), like
    a foreground command; any other suspension is returned.
    """
    owner = Owner.here()
    deadline = time.time() + max_wait
    # Created leased to this process, so that no worker claims it first.
    run_id, created = create_run(journal, task, args, kwargs, run_id=run_id, holder=owner)
    if on_start is not None:
        on_start(run_id, created)
    while True:
        outcome = await execute(
            journal, run_id, lambda task_id: task if task_id == task.id else lookup(task_id),
            owner=owner,
        )
        assert outcome is not None  # execute() waits for the lease (wait=True)
        if (outcome.status not in ("sleeping", "retrying") or outcome.wake_at is None
                or outcome.wake_at > deadline):
            return outcome
        if on_wait is not None:
            on_wait(outcome)
        await asyncio.sleep(max(0.0, outcome.wake_at - time.time()))


def run(
    task: TaskLike[R], *args: Any, db: str | None = None, run_id: str | None = None, **kwargs: Any
) -> R:
    """:func:`arun` from synchronous code (starts an event loop)."""
    return asyncio.run(arun(task, *args, db=db, run_id=run_id, **kwargs))
