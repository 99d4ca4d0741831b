"""The worker: claims due runs of the tasks it has loaded and executes them, until stopped.

It fires the cron schedules of its tasks when a slot is due (scheduler.py), and claims runs
(claim.py) whenever it has a free slot and something may be due: woken at once by
PostgreSQL notifications (store/notify.py) when a run becomes pending, by a run of its own ending, and
otherwise every ``poll`` seconds (timers, expired leases, SQLite). Stopping is graceful: no new
claims, the runs in flight stop at their next checkpoint and are released as pending, so other
workers take them at once; runs still inside a step after ``grace`` seconds are cancelled, which
releases them too.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final

from durablec.errors import DurablecError
from durablec.runtime import store
from durablec.runtime.claim import Claimer
from durablec.runtime.control import Suspend
from durablec.runtime.heartbeat import heartbeat_for
from durablec.runtime.lease import Owner
from durablec.runtime.model import RunRecord
from durablec.runtime.runner import Outcome, execute, journal_for
from durablec.runtime.scheduler import Firer
from durablec.runtime.store import Journal
from durablec.runtime.task import Task, lookup, registered

__all__ = ["work"]

POLL_SECONDS: Final = 0.2
LISTENING_POLL_SECONDS: Final = 1.0
"""With notifications only timers and expired leases wait for the poll."""


async def work(
    db: str | None = None,
    tasks: Iterable[Task[Any, Any]] | None = None,
    *,
    concurrency: int = 4,
    poll: float | None = None,
    until_idle: bool = False,
    stop: asyncio.Event | None = None,
    listen: bool = True,
    grace: float = 10.0,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Execute due runs until ``stop`` is set (or, with ``until_idle``, nothing is due).

    ``listen`` wakes the worker by PostgreSQL LISTEN/NOTIFY (ignored on SQLite); ``poll`` is the
    fallback interval. Returns the outcomes of the executions it made, in completion order;
    given ``on_outcome``, hands each to it as it comes instead (a long-lived worker keeps none).
    """
    journal = journal_for(db)
    known = {t.id: t for t in tasks} if tasks is not None else registered()
    owner = Owner.here()
    claimer = Claimer(journal, owner, known.values())
    schedules = Firer(journal, known.values())
    listening = listen and journal.backend.notifies
    interval = poll if poll is not None else (LISTENING_POLL_SECONDS if listening
                                              else POLL_SECONDS)
    outcomes: list[Outcome] = []
    running: dict[str, asyncio.Task[None]] = {}
    wake = asyncio.Event()
    stopping = stop or asyncio.Event()
    helpers = [asyncio.create_task(_set_when(stopping, wake))]
    if listening:
        helpers.append(asyncio.create_task(store.listen(journal, wake.set)))

    def find(task_id: str) -> Task[Any, Any]:
        return known.get(task_id) or lookup(task_id)

    async def one(row: RunRecord, epoch: int) -> None:
        try:
            outcome = await execute(journal, row.id, find, owner=owner, claimed=(row, epoch))
        except DurablecError as exc:
            print(f"durablec worker: run {row.id}: {exc}", file=sys.stderr)
            return
        if outcome is None:
            return
        if outcome.status == "running":
            print(f"durablec worker: run {row.id}: {outcome.message}", file=sys.stderr)
        if on_outcome is not None:
            on_outcome(outcome)
        else:
            outcomes.append(outcome)

    try:
        while not stopping.is_set():
            wake.clear()
            free = concurrency - len(running)
            failed = False
            try:
                if schedules.due_in() == 0:
                    # Before the claim, so that it can take the runs just started.
                    await asyncio.to_thread(schedules.fire)
                claimed = await asyncio.to_thread(claimer.claim, free) if free > 0 else []
            except store.DatabaseError as exc:
                failed = True
                # A database that is down or failing over: keep serving, try again next poll.
                print(f"durablec worker: cannot claim runs from {journal.url}: "
                      f"{str(exc).splitlines()[0]}; trying again in {interval:g} s", file=sys.stderr)
                claimed = []
            for row, epoch in claimed:
                job = running[row.id] = asyncio.create_task(one(row, epoch))
                job.add_done_callback(functools.partial(_ended, running, row.id, wake))
            # A run that ended during the claim (wake set) may have made another due: look again.
            if until_idle and not (claimed or running or failed or wake.is_set()):
                break
            if claimed and len(claimed) == free:
                continue  # the next claim finds no free slot and waits for one
            try:
                await asyncio.wait_for(wake.wait(), min(interval, schedules.due_in()))
            except TimeoutError:
                pass
    finally:
        await _drain(journal, owner, running, grace)
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
    return outcomes


def _ended(
    running: dict[str, asyncio.Task[None]], run_id: str, wake: asyncio.Event, _: object
) -> None:
    running.pop(run_id, None)
    wake.set()


async def _set_when(event: asyncio.Event, then: asyncio.Event) -> None:
    await event.wait()
    then.set()


async def _drain(
    journal: Journal, owner: Owner, running: dict[str, asyncio.Task[None]], grace: float
) -> None:
    """Stop the runs in flight at their next checkpoint, releasing them; cancel the rest."""
    if not running:
        return
    for context in heartbeat_for(journal).contexts(owner.id):
        context.suspend_now(Suspend("pending", "the worker is shutting down; released"))
    jobs = list(running.values())
    _, late = await asyncio.wait(jobs, timeout=grace)
    for job in late:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
