"""Deterministic stand-ins, durable sleep, events and idempotency keys for task code.

``now``/``random``/``uuid4`` are plain coroutines: awaited in compiled code they are checkpoints
like any other, so replay returns the recorded value. ``sleep`` and ``wait_for_event`` consult the
run they execute in to suspend it (no coroutine kept) instead of blocking a worker.
"""

from __future__ import annotations

import random as _random
import uuid as _uuid
from datetime import datetime, timezone
from typing import Any

from durablec.errors import UsageError
from durablec.runtime import store
from durablec.runtime.abi import active_scope
from durablec.runtime.clock import clock
from durablec.runtime.control import Suspend, mark_settled
from durablec.runtime.engine import RunScope, run_scope
from durablec.runtime.schedule import SLOT_RUN_PREFIX, utc
from durablec.runtime.journal import now as _clock

__all__ = ["idempotency_key", "now", "random", "sleep", "uuid4", "wait_for_event"]


async def now() -> datetime:
    """The current UTC time; recorded once per step, so replay sees the same value.

    In a run started by a schedule, the first ``now()`` returns the slot's time (to the second),
    so that a run knows which slot it serves however late it started.
    """
    scope = run_scope()
    if scope is not None and scope.run.run_id.startswith(SLOT_RUN_PREFIX):
        run = scope.run
        # Inside the step of this await, the active scope's path is the step's key.
        slot = store.take_slot(run.journal, run.run_id, run.epoch, scope.path)
        if slot is not None:
            return utc(slot)
    return datetime.fromtimestamp(_clock(), timezone.utc)


async def random() -> float:
    """A float in [0, 1); recorded once per step."""
    return _random.random()


async def uuid4() -> _uuid.UUID:
    """A random UUID; recorded once per step."""
    return _uuid.uuid4()


def idempotency_key() -> str:
    """A key stable across retries and replays of the checkpoint about to be taken.

    Evaluated while the arguments of an awaited call are built, it names that call's step:
    ``payments.charge(..., idempotency_key=durablec.idempotency_key())``. Outside a run it is a
    fresh random key (there is nothing to keep stable).
    """
    from durablec.runtime.step import LiveScope

    scope = active_scope.get()
    if isinstance(scope, LiveScope):
        # Inside a @durablec.step body: the key of that step, the same on each of its attempts.
        scope = scope.step
        return _uuid.uuid4().hex if scope is None else f"{scope.run.run_id}/{scope.path}"
    if not isinstance(scope, RunScope):
        return _uuid.uuid4().hex
    return f"{scope.run.run_id}/{scope.peek_key()}"


async def _wake_time(seconds: float | None, until: datetime | None) -> float:
    if until is not None:
        if until.tzinfo is None:
            raise UsageError("durablec.sleep(until=...) needs a timezone-aware datetime")
        return until.timestamp()
    return _clock() + (seconds or 0.0)


_WAKE_SITE = ("durablec.sleep.wake_at", 0, 0)
_DEADLINE_SITE = ("durablec.wait_for_event.deadline", 0, 0)


async def sleep(seconds: float | None = None, *, until: datetime | None = None) -> None:
    """Sleep durably: a long sleep suspends the run and a worker resumes it when it is due."""
    if (seconds is None) == (until is None):
        raise UsageError("durablec.sleep takes either seconds or until=, not both or neither")
    scope = run_scope()
    timer = clock()
    if scope is None:
        await timer.sleep(max(0.0, await _wake_time(seconds, until) - _clock()))
        return
    wake_at: float = await scope.checkpoint(_WAKE_SITE, _wake_time, (seconds, until), {})
    remaining = wake_at - _clock()
    # A replay check does not wait: the recorded wake time says the sleep was reached, and what
    # follows it is checked (it may be later than now when the run was recorded in skipped time).
    if remaining <= 0 or scope.run.check_only:
        return
    if remaining <= scope.run.inline_sleep or timer.skips:
        await timer.sleep(remaining)
        return
    raise scope.run.suspend_now(
        Suspend("sleeping", f"sleeping until {datetime.fromtimestamp(wake_at, timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
                wake_at=wake_at)
    )


async def _deadline(timeout: float) -> float:
    return _clock() + timeout


async def wait_for_event(name: str, timeout: float | None = None) -> Any:
    """Wait until event ``name`` is sent to this run (``send_event``) and return its payload.

    The run is suspended while it waits. With ``timeout`` (seconds) a TimeoutError is raised
    into the task when no event came in time.
    """
    scope = run_scope()
    if scope is None:
        raise UsageError(
            f"wait_for_event({name!r}) can only wait inside a durable run: start the task with "
            "durablec.run, a Client or `durablec run`"
        )
    deadline: float | None = None
    if timeout is not None:
        deadline = await scope.checkpoint(_DEADLINE_SITE, _deadline, (timeout,), {})
    found, payload = _take_event(scope, name)
    if not found and deadline is not None and clock().skips:
        # Skipped time: the timeout passes at once unless the event came meanwhile.
        await clock().sleep(deadline - _clock())
        found, payload = _take_event(scope, name)
    if found:
        return payload
    if deadline is not None and _clock() >= deadline:
        # Settled: retrying would replay the same deadline, so the task gets it at once.
        raise mark_settled(TimeoutError(f"run {scope.run.run_id}: no event {name!r} within {timeout} s"))
    raise scope.run.suspend_now(
        Suspend("waiting", f"waiting for event {name!r}", wake_at=deadline, waiting_for=name)
    )


def _take_event(scope: RunScope, name: str) -> tuple[bool, Any]:
    """Claim the oldest unclaimed event ``name`` for this step (or the one it already claimed)."""
    run = scope.run
    key = scope.path
    if run.check_only:
        raise run.suspend_now(Suspend("pending", "replay check reached a live step"))
    found, payload = store.take_event(run.journal, run.run_id, run.epoch, name, key)
    if found == "none":
        return False, None
    if found == "fenced":  # the run's new lease holder receives the event instead
        raise run.suspend_now(Suspend(
            "running", f"run {run.run_id}: lease lost to another worker; event {name!r} "
            "left for it"))
    return True, run.load(payload, f"event/{name}")
