"""Cron schedules fired by several real worker processes on one journal (a SQLite file and a
PostgreSQL): a six-field every-second schedule runs for several seconds while one worker is
SIGKILLed. Then every slot from the first to the last has exactly one run, each run completed,
and each run's first ``durablec.now()`` is its slot."""

from __future__ import annotations

import signal
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from durablec.runtime.store import Journal
from durablec.runtime.store.schema import schedule_slots
from durablec.runtime.scheduler import set_paused, slot_run_id

from scale_support import Worker, run_rows, step_rows, wait_for

TASKS = """
import asyncio

import durablec

@durablec.task(id="tick", cron="* * * * * *")
async def tick():
    slot = await durablec.now()
    await asyncio.sleep(2)  # runs overlap, so the kill catches some in flight
    later = await durablec.now()
    return [slot.timestamp(), (later - slot).total_seconds() >= 2]
"""


def _slots(db: str) -> list[tuple[float, str]]:
    journal = Journal(db)
    try:
        with journal.begin() as conn:
            return [(row.slot_at, row.run_id) for row in conn.execute(
                select(schedule_slots).order_by(schedule_slots.c.slot_at))]
    finally:
        journal.close()


@pytest.mark.parametrize("count", [2, 3])
def test_one_run_per_slot_across_workers_and_none_lost_to_a_kill(
    tmp_path: Path, db_url: str, count: int
) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    Journal(db_url).close()  # the schema exists before the workers race to create it
    workers = [Worker(tmp_path, db_url, "tasks.py:tick") for _ in range(count)]
    try:
        victim = workers[0].pid

        seen: list[str] = []

        def ready() -> bool:
            # Only runs whose slot is under a second old: each lasts at least 2 s from its slot,
            # so it is still in flight when the kill follows this read, even on a loaded machine.
            # (An older run seen running may finish in the gap and never be taken over.)
            fresh = {run_id for slot, run_id in _slots(db_url) if slot > time.time() - 1.0}
            seen[:] = [row.id for row in run_rows(db_url).values()
                       if row.id in fresh and row.status == "running" and row.lease_pid == victim]
            return len(_slots(db_url)) >= 3 and bool(seen)

        wait_for(ready, "three slots fired, and a fresh run in flight on the first worker")
        # What the condition read, not a second read: a worker on this machine takes a dead
        # holder's run over at once, so a second read may already show the new holder.
        interrupted = list(seen)
        workers[0].kill()
        fired = len(_slots(db_url))
        wait_for(lambda: len(_slots(db_url)) >= fired + 4, "four slots fired after the kill")
        journal = Journal(db_url)
        set_paused(journal, "tick", True)
        journal.close()
        wait_for(lambda: all(row.status == "completed" for row in run_rows(db_url).values()),
                 "every scheduled run to complete")
        for worker in workers[1:]:
            worker.signal(signal.SIGTERM)
        for worker in workers[1:]:
            assert worker.wait("a worker to stop at SIGTERM") == 0
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()

    slots = _slots(db_url)
    first, last = slots[0][0], slots[-1][0]
    # Every second from the first slot to the last, once; each slot's run id derives from it.
    assert [slot for slot, _ in slots] == [first + n for n in range(int(last - first) + 1)]
    assert all(run_id == slot_run_id("tick", slot) for slot, run_id in slots)
    rows = run_rows(db_url)
    assert sorted(rows) == sorted(run_id for _, run_id in slots)
    for slot, run_id in slots:
        row = rows[run_id]
        assert row.status == "completed" and row.idempotency_key == run_id
        # The first now() is the slot; the second is the clock, past the 2 s sleep.
        assert row.result_repr == repr([slot, True]), (run_id, row.result_repr)
    # The killed worker's runs were taken over by another worker and completed.
    assert interrupted and all(rows[run_id].lease_epoch >= 2 for run_id in interrupted)
    # One final record per step: no slot's run recorded a step twice.
    finals = [(step.run_id, step.key) for step in step_rows(db_url) if step.final]
    assert len(finals) == len(set(finals)) == 3 * len(slots)
    print(f"{len(slots)} slots from {datetime.fromtimestamp(first)} fired by {count} workers")
