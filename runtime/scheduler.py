"""Cron schedules against the journal: declaring, adding and changing them, and firing them.

The decisions are made here; the statements are the store's (store/schedules.py). A worker's
:class:`Firer` looks at the schedules of its tasks and, for each due one, decides in the store's
firing transaction (which holds the schedule's row) the slots to fire: those the schedule's
catch-up and overlap policies allow (schedule.py computes them), and a slot triggered by hand.
Each slot fired becomes a slot row and a pending run whose id and idempotency key are
``schedule:ID@TIME``, so a slot starts one run whoever fires it.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from durablec.errors import DurablecError, UsageError
from durablec.runtime import store
from durablec.runtime.creation import misfit as check_fit
from durablec.runtime.creation import new_run
from durablec.runtime.lease import LEASE_SECONDS
from durablec.runtime.model import TERMINAL
from durablec.runtime.schedule import SLOT_RUN_PREFIX, Cron, catchup_of, utc
from durablec.runtime.serde import Codec, preview
from durablec.runtime.store import (
    FiredSlot,
    Firing,
    Journal,
    ScheduleChanges,
    ScheduleRecord,
    ScheduleWrite,
    now,
)
from durablec.runtime.store import ScheduleSource as Source
from durablec.runtime.task import Task

__all__ = [
    "Firer",
    "SLOT_RUN_PREFIX",
    "ScheduleInfo",
    "Source",
    "add",
    "delete_schedule",
    "get",
    "list_schedules",
    "set_paused",
    "slot_run_id",
    "trigger_now",
]


LOOK_SECONDS: Final = 1.0
"""How often a worker looks for schedules it has not seen yet (added by a client, resumed)."""


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as the journal describes it."""

    id: str
    task_id: str
    source: Source
    cron: Cron
    paused: bool
    args_repr: str | None
    next_at: float
    """The next slot it fires (while not paused)."""
    last_slot: float
    last_run_id: str | None
    manual_at: float | None
    """A ``trigger-now`` that no worker has fired yet."""


def slot_run_id(schedule_id: str, slot: float) -> str:
    """The id (and idempotency key) of the run of a slot: ``schedule:nightly@2026-11-30T02:00:00Z``."""
    spec = "seconds" if slot == int(slot) else "microseconds"
    stamp = utc(slot).replace(tzinfo=None).isoformat(timespec=spec)
    return f"{SLOT_RUN_PREFIX}{schedule_id}@{stamp}Z"


def _cron(row: ScheduleRecord) -> Cron:
    return Cron(tuple(row.cron.split("\n")), row.timezone, catchup_of(row.catchup),
                row.catchup_limit, row.overlap)


def _definition(cron: Cron) -> dict[str, Any]:
    return {"cron": "\n".join(cron.exprs), "timezone": cron.timezone, "catchup": cron.catchup,
            "catchup_limit": cron.catchup_limit, "overlap": cron.overlap}


def _info(row: ScheduleRecord) -> ScheduleInfo:
    return ScheduleInfo(row.id, row.task_id, row.source, _cron(row), row.paused, row.args_repr,
                        row.next_at, row.last_slot, row.last_run_id, row.manual_at)


def _new_schedule(
    schedule_id: str, task_id: str, source: Source, cron: Cron, at: float,
    args: bytes | None = None, args_repr: str | None = None,
) -> dict[str, Any]:
    # Slots before a schedule existed are not missed: it starts after ``at``.
    return {"id": schedule_id, "task_id": task_id, "source": source, **_definition(cron),
            "paused": False, "args": args, "args_repr": args_repr, "last_slot": at,
            "next_at": cron.next_slot(at), "created_at": at, "updated_at": at}


def _check_id(schedule_id: str) -> None:
    if not schedule_id or len(schedule_id) > 150 or "@" in schedule_id:
        raise UsageError(
            f"schedule id {schedule_id!r} must be 1 to 150 characters without '@' (the run ids "
            "of its slots are schedule:ID@TIME)"
        )


def add(
    journal: Journal, task: Task[Any, Any] | str, cron: Cron, args: tuple[Any, ...],
    kwargs: dict[str, Any], *, schedule_id: str | None = None,
) -> ScheduleInfo:
    """Add a schedule of ``task`` that runs it with these arguments at each slot."""
    task_id = task if isinstance(task, str) else task.id
    if not isinstance(task, str):
        misfit = check_fit(task, args, kwargs)
        if misfit is not None:
            raise UsageError(misfit)
    schedule_id = schedule_id or f"{task_id}-{uuid.uuid4().hex[:8]}"
    _check_id(schedule_id)
    codec = Codec.from_env()
    try:
        blob = codec.dumps((args, kwargs), f"schedule/{schedule_id}/args")
    except Exception as exc:  # noqa: BLE001 - any pickling failure gets the same advice
        raise UsageError(
            f"the arguments of schedule {schedule_id!r} cannot be serialized ({exc}); each of "
            "its runs is started from them by any worker: pass serializable values"
        ) from exc
    values = _new_schedule(schedule_id, task_id, "api", cron, now(), blob,
                           preview((args, kwargs), 2000))
    if not store.insert_schedule(journal, values):
        raise UsageError(
            f"a schedule with id {schedule_id!r} already exists; delete it first or pick another id"
        )
    return get(journal, schedule_id)


def get(journal: Journal, schedule_id: str) -> ScheduleInfo:
    row = store.find_schedule(journal, schedule_id)
    if row is None:
        raise UsageError(f"no schedule {schedule_id!r} in the journal at {journal.url}")
    return _info(row)


def list_schedules(journal: Journal, task_id: str | None = None) -> list[ScheduleInfo]:
    """Schedules by id, optionally of one task."""
    return [_info(row) for row in store.list_schedules(journal, task_id)]


def set_paused(
    journal: Journal, schedule_id: str, paused: bool, *, at: float | None = None
) -> ScheduleInfo:
    """Pause or resume (at time ``at``, default now). A resumed schedule starts from then: slots
    passed while it was paused were refused, not missed, so no catch-up fires them."""
    info = get(journal, schedule_id)
    at = now() if at is None else at
    values: dict[str, Any] = {"paused": paused, "updated_at": at}
    if info.paused and not paused:
        values.update(last_slot=max(info.last_slot, at), next_at=info.cron.next_slot(at))
    store.update_schedule(journal, schedule_id, values)
    return get(journal, schedule_id)


def delete_schedule(journal: Journal, schedule_id: str) -> None:
    """Delete a schedule added through a client; its runs stay in the journal."""
    info = get(journal, schedule_id)
    if info.source == "code":
        raise UsageError(
            f"schedule {schedule_id!r} is declared by task {info.task_id!r} (@task(cron=...)) and "
            "workers that load the task declare it again; remove cron= from the task, or pause it"
        )
    store.delete_schedule(journal, schedule_id)


def trigger_now(journal: Journal, schedule_id: str) -> str:
    """Ask the workers of the schedule's task to fire it now, overlap or not; returns the id of
    the run they will start. A trigger not yet fired is not doubled: its run id is returned."""
    store.trigger_schedule(journal, schedule_id, now())
    info = get(journal, schedule_id)
    assert info.manual_at is not None
    return slot_run_id(schedule_id, info.manual_at)


class Firer:
    """Fires the schedules of the tasks a worker loaded: declared ones and added ones.

    ``fire`` is cheap when nothing is due: it reads the journal only at the next slot it knows
    of, or every LOOK_SECONDS for schedules added or resumed meanwhile.
    """

    def __init__(
        self, journal: Journal, tasks: Iterable[Task[Any, Any]],
        clock: Callable[[], float] = now,
    ) -> None:
        self._journal = journal
        self._tasks = {task.id: task for task in tasks}
        self._clock = clock
        self._declared = False
        self._next_look = 0.0
        self._broken: set[str] = set()

    def due_in(self) -> float:
        """Seconds until ``fire`` has something to do."""
        return max(0.0, self._next_look - self._clock())

    def fire(self) -> list[str]:
        """Fire every due schedule; returns the ids of the runs started."""
        if not self._tasks:
            self._next_look = float("inf")
            return []
        at = self._clock()
        if not self._declared:
            _declare(self._journal, self._tasks.values(), at)
            self._declared = True
        if at < self._next_look:
            return []
        found = store.active_schedules(self._journal, tuple(self._tasks))
        started: list[str] = []
        look = at + LOOK_SECONDS
        for schedule_id, next_at, paused, manual_at in found:
            if schedule_id in self._broken:
                continue
            if (next_at <= at and not paused) or manual_at is not None:
                try:
                    started += self._fire_one(schedule_id, at)
                except DurablecError as exc:
                    self._broken.add(schedule_id)
                    print(f"durablec worker: schedule {schedule_id}: {exc}; this worker no longer "
                          "fires it", file=sys.stderr)
                    continue
            elif not paused:
                look = min(look, next_at)
        self._next_look = look
        return started

    def _fire_one(self, schedule_id: str, at: float) -> list[str]:
        codec = Codec.from_env()

        def decide(row: ScheduleRecord, status_of: Callable[[str], str | None]) -> Firing:
            cron = _cron(row)
            values: dict[str, Any] = {}
            slots: list[tuple[float, bool]] = []
            if row.next_at <= at and not row.paused:
                busy = (not cron.overlap and row.last_run_id is not None
                        and status_of(row.last_run_id) not in (*TERMINAL, None))
                plan = cron.plan(row.last_slot, at, busy=busy)
                slots += [(slot, False) for slot in plan.fire]
                values.update(last_slot=plan.last_slot, next_at=plan.next_at)
            if row.manual_at is not None:
                if row.manual_at not in {slot for slot, _ in slots}:
                    slots.append((row.manual_at, True))
                values["manual_at"] = None
            task = self._tasks[row.task_id]
            args, kwargs = (codec.loads(row.args, f"schedule/{schedule_id}/args") if row.args
                            else ((), {}))
            misfit = check_fit(task, args, kwargs)
            if misfit is not None:
                raise UsageError(misfit)
            fired: list[FiredSlot] = []
            for slot, manual in slots:
                run_id = slot_run_id(schedule_id, slot)
                fired.append(FiredSlot(slot, run_id, manual, new_run(
                    task, run_id, args, kwargs, codec, holder=None, idempotency_key=run_id)))
            if fired:
                values["last_run_id"] = fired[-1].run_id
            return Firing(tuple(fired), values)

        return store.fire_schedule(self._journal, schedule_id, decide, at, LEASE_SECONDS)


def _declare(journal: Journal, tasks: Iterable[Task[Any, Any]], at: float) -> None:
    """Bring the journal's code-declared schedules of these tasks in line with their code."""
    tasks = list(tasks)
    declared = {task.id: task.cron for task in tasks if task.cron is not None}
    store.declare_schedules(journal, tuple(declared), tuple(task.id for task in tasks),
                            lambda found: _reconcile(declared, found, at))


def _reconcile(
    declared: Mapping[str, Cron], found: Mapping[str, ScheduleRecord], at: float
) -> ScheduleChanges:
    writes: list[ScheduleWrite] = []
    for task_id, cron in declared.items():
        row = found.get(task_id)
        if row is None:
            _check_id(task_id)
            writes.append(ScheduleWrite(task_id, _new_schedule(task_id, task_id, "code", cron, at),
                                        insert=True))
        elif row.source != "code" or row.task_id != task_id:
            raise UsageError(
                f"task {task_id!r} declares a schedule, but the journal's schedule with that id "
                f"was added for task {row.task_id!r} through a client; delete it "
                f"(`durablec schedule delete {task_id}`)"
            )
        elif _cron(row) != cron:
            # Changed code: the new definition goes on from the last slot decided.
            writes.append(ScheduleWrite(task_id, {**_definition(cron),
                                                  "next_at": cron.next_slot(row.last_slot),
                                                  "updated_at": at}, insert=False))
    # A task that no longer declares its schedule: the schedule goes too.
    gone = tuple(row.id for row in found.values()
                 if row.source == "code" and row.id not in declared)
    return ScheduleChanges(tuple(writes), gone)
