"""Testing durable tasks: crash injection, time skipping and replay assertions.

The pytest plugin (:mod:`durablec.testing.plugin`, active once durablec is installed, off with
``-p no:durablec``) adds the fixtures ``durablec_db``, ``durablec_client`` and ``durablec_time``
and compiles the project's task modules on import. docs/testing.md walks through each name.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from durablec.errors import NotCompiledError, UsageError
from durablec.runtime.client import Client, TaskLike
from durablec.runtime.client import send_event as send_event
from durablec.runtime.clock import Clock, use_clock
from durablec.runtime.heartbeat import heartbeat_for
from durablec.runtime.history import check_replay, read_history
from durablec.runtime.journal import Journal
from durablec.runtime.history import replay_history as _replay_history
from durablec.runtime.lease import Owner
from durablec.runtime.observer import StepEvent, StepObserver, install
from durablec.runtime.creation import create_run
from durablec.runtime.runner import Outcome, execute, journal_for
from durablec.runtime.task import Task, as_task, lookup

__all__ = ["SkippingClock", "acrash", "assert_replays", "crash", "replay_history", "send_event",
           "time_skipping"]

T = TypeVar("T")

# -- crash injection ------------------------------------------------------------------------


class _CrashAt(StepObserver):
    """Freezes the execution of one run when step ``at`` starts, as a SIGKILL would stop it."""

    def __init__(self, run_id: str, at: str) -> None:
        self.run_id = run_id
        self.at = at
        self.reached: list[str] = []
        self.crashed = False
        self.outcome: Outcome | None = None
        self.error: BaseException | None = None
        self.settled = threading.Event()

    def step_started(self, event: StepEvent) -> None:
        if event.run_id != self.run_id:
            return
        if event.key == self.at or event.callee == self.at:
            self.crashed = True
            self.settled.set()
            # The step has started and nothing of it is recorded. The execution's thread stops
            # here for good: no outcome, no cleanup (`finally`, `__aexit__`), no write. Leaving
            # the coroutine unfinished is the point, so it is never resumed or closed.
            threading.Event().wait()
        self.reached.append(f"{event.key} `{event.callee}`")

    def step_replayed(self, event: StepEvent, outcome: str) -> None:
        if event.run_id == self.run_id:
            self.reached.append(f"{event.key} `{event.callee}` (replayed)")

    def execute(self, journal: Journal, task: Task[Any, Any], owner: Owner) -> None:
        try:
            self.outcome = asyncio.run(execute(
                journal, self.run_id,
                lambda task_id: task if task_id == task.id else lookup(task_id), owner=owner))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self.error = exc
        finally:
            self.settled.set()


def _dead_owner() -> Owner:
    """A lease holder that is a finished process on this machine: a resume in this process
    takes its lease over at once, as it would a killed worker's (lease.py)."""
    process = subprocess.Popen([sys.executable, "-S", "-c", ""])
    process.wait()
    host = socket.gethostname()
    return Owner(f"{host}:{process.pid}:crashed", host, process.pid)


def crash(task: TaskLike[Any], *args: Any, at: str, db: str | None = None,
          run_id: str | None = None, **kwargs: Any) -> str:
    """Run ``task`` until step ``at`` has started, then abandon the run as a SIGKILL would, and
    return its run id.

    ``at`` is a step key as ``durablec inspect`` shows it (``"1"``, ``"2.0"``) or a callee
    (``"payments.charge"``, its first step). Nothing is recorded for that step and nothing runs
    after it: no ``finally`` block, no ``__aexit__``, no write. The lease is left to a process
    that no longer exists, so ``durablec.run(task, db=db, run_id=rid)`` resumes the run at once.
    ``run_id`` names the new run (an unfinished run with that id is resumed and crashed again).
    """
    made = as_task(task)
    try:
        made.check_compiled()  # before a run is created, and with the fix that applies in tests
    except NotCompiledError as exc:
        raise NotCompiledError(
            f"{exc}. In tests, define tasks in a module of your package: the durablec plugin "
            "compiles those on import (the durablec_compile ini option), never test modules"
        ) from None
    journal = journal_for(db)
    owner = _dead_owner()
    run_id, _ = create_run(journal, made, args, kwargs, run_id=run_id, holder=owner)
    stop = _CrashAt(run_id, at)
    uninstall = install(stop)
    try:
        threading.Thread(target=stop.execute, args=(journal, made, owner), daemon=True,
                         name=f"durablec-crash-{run_id}").start()
        stop.settled.wait()
    finally:
        uninstall()
    if stop.crashed:
        # The dead process renews nothing: its heartbeat stops with it.
        beat = heartbeat_for(journal)
        for context in beat.contexts(owner.id):
            beat.drop(context)
        return run_id
    if stop.error is not None:
        raise stop.error
    status = stop.outcome.status if stop.outcome is not None else "stopped"
    reached = (f"it reached {', '.join(stop.reached)} and is {status}. Pass one of those keys "
               "or callees as at=" if stop.reached else
               f"it reached no step and is {status}; at= must name a step the run reaches")
    raise UsageError(
        f"crash(at={at!r}): run {run_id} of task {made.id!r} never started a step {at!r}; "
        f"{reached} (`durablec inspect {run_id}` shows a run's steps)"
    )


async def acrash(task: TaskLike[Any], *args: Any, at: str, db: str | None = None,
                 run_id: str | None = None, **kwargs: Any) -> str:
    """:func:`crash` from async code: the event loop keeps running while the run executes."""
    return await asyncio.to_thread(crash, task, *args, at=at, db=db, run_id=run_id, **kwargs)


# -- time skipping --------------------------------------------------------------------------

_SETTLE_ROUNDS: Final = 8
"""Event-loop iterations a sleep waits for other sleepers before the earliest is woken, so that
sleeps started together (a gather) complete in the order they are due."""


class SkippingClock(Clock):
    """A clock on which waits complete at once and move the time forward by what they skipped."""

    skips = True

    def __init__(self) -> None:
        self.skipped = 0.0
        """Seconds skipped so far: :meth:`time` is the wall time plus this."""
        self._due: dict[asyncio.AbstractEventLoop, list[tuple[float, int, asyncio.Future[None]]]] = {}
        self._order = itertools.count()

    def time(self) -> float:
        return time.time() + self.skipped

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._due.setdefault(loop, []),
                       (self.time() + max(0.0, seconds), next(self._order), waiter))
        loop.call_soon(self._settle, loop, _SETTLE_ROUNDS)
        await waiter

    def _settle(self, loop: asyncio.AbstractEventLoop, rounds: int) -> None:
        if rounds:
            loop.call_soon(self._settle, loop, rounds - 1)
            return
        due = self._due.get(loop, [])
        while due:
            at, _, waiter = heapq.heappop(due)
            if not waiter.done():  # a cancelled sleep skips no time
                self.skipped += max(0.0, at - self.time())
                waiter.set_result(None)
                break
        if not due:
            self._due.pop(loop, None)


@contextmanager
def time_skipping() -> Iterator[SkippingClock]:
    """Inside the block, durable sleeps, retry backoffs and ``wait_for_event`` timeouts complete
    at once, in the order they are due, and ``durablec.now()`` moves forward by the time skipped."""
    clock = SkippingClock()
    restore = use_clock(clock)
    try:
        yield clock
    finally:
        restore()


# -- replay assertions ----------------------------------------------------------------------


def _outside_loop(work: Callable[[], T]) -> T:
    """Call ``work`` (which runs an event loop of its own) from sync or async test code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def assert_replays(task: TaskLike[Any], run_id: str, db: str | None = None) -> None:
    """Replay stored run ``run_id`` against ``task``'s current code, running no step; raise
    AssertionError naming the first divergence (steps or arguments) when it does not replay."""
    made = as_task(task)
    client = Client(db)
    divergence = _outside_loop(lambda: check_replay(client.journal, client.rows(run_id), made))
    if divergence is not None:
        raise AssertionError(divergence)


def replay_history(path: str | os.PathLike[str], task: TaskLike[Any]) -> None:
    """Replay a history file written by ``durablec export`` against ``task``'s current code;
    raise AssertionError naming the first divergence. A history of another task, from a newer
    durablec, or edited since its export is refused with a DurablecError."""
    history = read_history(path)
    divergence = _outside_loop(lambda: _replay_history(history, as_task(task)))
    if divergence is not None:
        raise AssertionError(f"history {history.path}: {divergence}")
