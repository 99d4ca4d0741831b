"""Store operations on cron schedules: declaring, adding, changing and firing them.

What a schedule fires and when is decided above the store (runtime/scheduler.py, with the pure
slot arithmetic of runtime/schedule.py); the operations that must decide inside their
transaction take that decision as a function of the rows they read, as ``claim_on_queue`` takes
its ``choose``.

Firing is one transaction per due schedule that holds the schedule's row (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so a second worker skips it; the write lock on SQLite): read it again,
decide its slots, insert a slot row and a pending run per slot to fire, and move the schedule
past the slots decided. One run per slot is enforced by the database twice over: the slot row's
primary key is (schedule id, slot time), and the run's id and idempotency key are derived from
the same two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from sqlalchemy import delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from durablec.runtime.store.database import Journal
from durablec.runtime.store.schema import held, runs, schedule_slots, schedules

__all__ = [
    "Decide", "FiredSlot", "Firing", "Reconcile", "ScheduleChanges", "ScheduleRecord",
    "ScheduleSource", "ScheduleTimes", "ScheduleWrite", "active_schedules", "declare_schedules",
    "delete_schedule", "find_schedule", "fire_schedule", "insert_schedule", "list_schedules",
    "take_slot", "trigger_schedule", "update_schedule",
]

ScheduleSource = Literal["code", "api"]
"""Where a schedule comes from: a task's ``@task(cron=...)``, or Client / ``durablec schedule``."""


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule's whole row (``durablec_schedules``), its definition as stored: ``cron`` holds
    the expressions one per line."""

    id: str
    task_id: str
    source: ScheduleSource
    cron: str
    timezone: str
    catchup: str
    catchup_limit: int
    overlap: bool
    paused: bool
    args: bytes | None
    args_repr: str | None
    last_slot: float
    next_at: float
    last_run_id: str | None
    manual_at: float | None
    created_at: float
    updated_at: float


class ScheduleTimes(NamedTuple):
    """When a schedule may next have to be fired: its next slot, and a trigger not yet fired."""

    id: str
    next_at: float
    paused: bool
    manual_at: float | None


class FiredSlot(NamedTuple):
    """A slot to fire: its time, its run's id, whether it was triggered by hand, and the
    values of the run's row."""

    slot_at: float
    run_id: str
    manual: bool
    run: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Firing:
    """What one firing of a schedule decides: the slots to fire, oldest first, and the columns
    of the schedule to change (besides ``updated_at``)."""

    slots: tuple[FiredSlot, ...]
    values: Mapping[str, Any]


Decide = Callable[[ScheduleRecord, Callable[[str], str | None]], Firing]
"""Decides a firing from the schedule's row, held locked, and a reader of a run's status (None:
no such run) in the same transaction."""


class ScheduleWrite(NamedTuple):
    """A schedule row to insert (``values`` are all its columns) or to update."""

    schedule_id: str
    values: Mapping[str, Any]
    insert: bool


@dataclass(frozen=True, slots=True)
class ScheduleChanges:
    """The writes that bring declared schedules in line with their code, in order, and the ids
    of the schedules to delete."""

    writes: tuple[ScheduleWrite, ...]
    deleted: tuple[str, ...]


Reconcile = Callable[[Mapping[str, ScheduleRecord]], ScheduleChanges]
"""Decides the changes from the schedules found, by id."""


def _record(row: Any) -> ScheduleRecord:
    return ScheduleRecord(**row._mapping)  # Row._mapping: SQLAlchemy's public name-to-value view


def find_schedule(journal: Journal, schedule_id: str) -> ScheduleRecord | None:
    with journal.begin() as conn:
        row = conn.execute(select(schedules).where(schedules.c.id == schedule_id)).one_or_none()
    return None if row is None else _record(row)


def list_schedules(journal: Journal, task_id: str | None = None) -> list[ScheduleRecord]:
    """Schedules by id, optionally of one task."""
    query = select(schedules).order_by(schedules.c.id)
    if task_id is not None:
        query = query.where(schedules.c.task_id == task_id)
    with journal.begin() as conn:
        return [_record(row) for row in conn.execute(query)]


def insert_schedule(journal: Journal, values: Mapping[str, Any]) -> bool:
    """Insert a new schedule's row; False when the insert breaks a constraint (its id is taken)."""
    try:
        with journal.begin() as conn:
            conn.execute(insert(schedules).values(values))
    except IntegrityError:
        return False
    return True


def update_schedule(journal: Journal, schedule_id: str, values: Mapping[str, Any]) -> None:
    with journal.begin() as conn:
        conn.execute(update(schedules).where(schedules.c.id == schedule_id).values(values))


def delete_schedule(journal: Journal, schedule_id: str) -> None:
    """Delete a schedule's row; its slots' runs stay in the journal."""
    with journal.begin() as conn:
        conn.execute(delete(schedules).where(schedules.c.id == schedule_id))


def trigger_schedule(journal: Journal, schedule_id: str, at: float) -> None:
    """Ask for a firing of the schedule at ``at`` unless one asked for is not fired yet."""
    with journal.begin() as conn:
        conn.execute(update(schedules)
                     .where(schedules.c.id == schedule_id, schedules.c.manual_at.is_(None))
                     .values(manual_at=at, updated_at=at))


def take_slot(journal: Journal, run_id: str, epoch: int, key: str) -> float | None:
    """The slot of a scheduled run, for its ``durablec.now()`` at step ``key``, or None.

    The first step to ask takes the slot (recorded on the slot row, under the run's lease), so
    asking again from that step (its retry, or its re-run after a crash) gets the slot again
    while any other step gets None.
    """
    with journal.begin() as conn:
        conn.execute(
            update(schedule_slots)
            .where(schedule_slots.c.run_id == run_id,
                   or_(schedule_slots.c.now_key.is_(None), schedule_slots.c.now_key == key),
                   exists().where(held(run_id, epoch)))
            .values(now_key=key)
        )
        slot: float | None = conn.execute(
            select(schedule_slots.c.slot_at)
            .where(schedule_slots.c.run_id == run_id, schedule_slots.c.now_key == key)
        ).scalar_one_or_none()
    return slot


def active_schedules(journal: Journal, task_ids: Sequence[str]) -> list[ScheduleTimes]:
    """The schedules of these tasks that are not paused or were triggered by hand."""
    with journal.begin() as conn:
        return [ScheduleTimes(*row) for row in conn.execute(
            select(schedules.c.id, schedules.c.next_at, schedules.c.paused,
                   schedules.c.manual_at)
            .where(schedules.c.task_id.in_(task_ids),
                   or_(schedules.c.paused.is_(False), schedules.c.manual_at.isnot(None)))
        )]


def fire_schedule(
    journal: Journal, schedule_id: str, decide: Decide, at: float, idle_timeout: float
) -> list[str]:
    """Fire the slots ``decide`` picks for the schedule, holding its row: a slot row and a
    pending run each, then the schedule's new columns. Returns the ids of the runs started:
    none when another worker holds the schedule (or it was deleted). An exception of
    ``decide`` rolls everything back."""
    with journal.begin() as conn:
        journal.backend.bound_idle_transaction(conn, idle_timeout)
        journal.backend.lock_schedule(conn, schedule_id)
        row = conn.execute(
            select(schedules).where(schedules.c.id == schedule_id)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if row is None:
            return []

        def status_of(run_id: str) -> str | None:
            status: str | None = conn.execute(
                select(runs.c.status).where(runs.c.id == run_id)).scalar_one_or_none()
            return status

        firing = decide(_record(row), status_of)
        for slot in firing.slots:
            conn.execute(insert(schedule_slots).values(
                schedule_id=schedule_id, slot_at=slot.slot_at, run_id=slot.run_id,
                manual=slot.manual, created_at=at))
            conn.execute(insert(runs).values(slot.run))
        conn.execute(update(schedules).where(schedules.c.id == schedule_id)
                     .values(updated_at=at, **firing.values))
    return [slot.run_id for slot in firing.slots]


def declare_schedules(
    journal: Journal, ids: Sequence[str], task_ids: Sequence[str], reconcile: Reconcile
) -> None:
    """Apply the changes ``reconcile`` decides from the schedules with these ids or of these
    tasks, in one transaction. When another worker inserted the same schedule first, look
    again, once."""
    for last in (False, True):
        try:
            with journal.begin() as conn:
                found = {row.id: _record(row) for row in conn.execute(
                    select(schedules).where(or_(schedules.c.id.in_(ids),
                                                schedules.c.task_id.in_(task_ids)))
                )}
                changes = reconcile(found)
                for write in changes.writes:
                    if write.insert:
                        conn.execute(insert(schedules).values(write.values))
                    else:
                        conn.execute(update(schedules)
                                     .where(schedules.c.id == write.schedule_id)
                                     .values(write.values))
                if changes.deleted:
                    conn.execute(delete(schedules).where(schedules.c.id.in_(changes.deleted)))
            return
        except IntegrityError:
            if last:
                raise
