"""Suspension: durable sleep, events, child runs, cancellation, leases and the worker."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from typing import Any

import pytest
from sqlalchemy import event, select

import durablec
from durablec.errors import RunSuspendedError, UsageError
from durablec.runtime.store.schema import events
from durablec.runtime.lease import Owner, acquire
from durablec.runtime.creation import create_run
from durablec.runtime.runner import journal_for
from durablec.runtime.worker import work

from helpers import Loader
from helpers import force_due

FLOWS = """
import durablec

CALLS = []

async def step(name):
    CALLS.append(name)
    return name

@durablec.task(id="nap")
async def nap():
    a = await step("before")
    await durablec.sleep(3600)
    return a + "/" + await step("after")

@durablec.task(id="approve")
async def approve(order):
    await step("asked")
    decision = await durablec.wait_for_event("approval")
    return f"{order}: {decision['by']}"

@durablec.task(id="child")
async def child(n):
    return await step(n * 2)

@durablec.task(id="parent")
async def parent():
    handle = child.trigger(21)
    value = await handle.result()
    return await step(value + 1)
"""


def test_sleep_suspends_and_a_worker_resumes_when_due(load: Loader, db_url: str) -> None:
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError) as info:
        durablec.run(mod.nap, db=db_url, run_id="s1")
    assert info.value.status == "sleeping"
    client = durablec.Client(db_url)
    run = client.get("s1")
    assert run.status == "sleeping" and run.wake_at is not None and run.lease_owner is None
    assert asyncio.run(work(db_url, [mod.nap], until_idle=True)) == []  # not due yet
    force_due(db_url, "s1")
    outcomes = asyncio.run(work(db_url, [mod.nap], until_idle=True))
    assert [(o.run_id, o.status, o.result) for o in outcomes] == [("s1", "completed", "before/after")]
    assert mod.CALLS == ["before", "after"]


def test_wait_for_event_and_send_event(load: Loader, db_url: str) -> None:
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError) as info:
        durablec.run(mod.approve, "o7", db=db_url, run_id="e1")
    assert info.value.status == "waiting"
    client = durablec.Client(db_url)
    assert client.get("e1").waiting_for == "approval"
    client.send_event("e1", "approval", {"by": "ana"})
    assert client.get("e1").status == "pending"
    outcomes = asyncio.run(work(db_url, [mod.approve], until_idle=True))
    assert [o.result for o in outcomes] == ["o7: ana"]
    assert mod.CALLS == ["asked"]
    with pytest.raises(UsageError, match="no longer receive"):
        client.send_event("e1", "approval", {})


def test_an_executor_that_lost_its_lease_leaves_the_event_to_the_new_holder(
    load: Loader, sqlite_url: str
) -> None:
    mod = load(FLOWS)
    client = durablec.Client(sqlite_url)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.approve, "o8", db=sqlite_url, run_id="e2")
    client.send_event("e2", "approval", {"by": "ana"})
    journal = journal_for(sqlite_url)

    def take_over(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Another executor takes the run over just as this one looks for its event.
        if statement.lstrip().startswith("SELECT durablec_events.id"):
            with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as other:
                other.execute("UPDATE durablec_runs SET lease_epoch = lease_epoch + 1")

    event.listen(journal.engine, "before_cursor_execute", take_over)
    try:
        with pytest.raises(RunSuspendedError) as info:
            durablec.run(mod.approve, "o8", db=sqlite_url, run_id="e2")
    finally:
        event.remove(journal.engine, "before_cursor_execute", take_over)
    assert "lease lost" in str(info.value)
    with journal.begin() as conn:
        consumed = conn.execute(select(events.c.consumed_key)).scalars().all()
    assert consumed == [None]  # left for the new holder


def test_child_run_result_wakes_parent(load: Loader, db_url: str) -> None:
    mod = load(FLOWS)
    client = durablec.Client(db_url)
    handle = client.trigger(mod.parent)
    outcomes = asyncio.run(work(db_url, [mod.parent, mod.child], until_idle=True))
    statuses = {(o.run_id, o.status) for o in outcomes}
    child_id = f"{handle.run_id}.0"
    assert (child_id, "completed") in statuses and (handle.run_id, "completed") in statuses
    assert asyncio.run(handle.result()) == 43
    assert client.get(child_id).parent_run_id == handle.run_id
    assert mod.CALLS == [42, 43]  # the child ran once, though the parent ran twice


def test_trigger_with_idempotency_key_starts_one_run(load: Loader, db_url: str) -> None:
    mod = load(FLOWS)
    client = durablec.Client(db_url)
    first = client.trigger(mod.child, 1, idempotency_key="k")
    again = client.trigger("child", 1, idempotency_key="k")
    assert first.run_id == again.run_id
    assert len(client.runs(task="child")) == 1


def test_cancelled_run_is_not_resumed(load: Loader, db_url: str) -> None:
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.nap, db=db_url, run_id="c1")
    client = durablec.Client(db_url)
    client.cancel("c1")
    force_due(db_url, "c1")
    assert asyncio.run(work(db_url, [mod.nap], until_idle=True)) == []
    assert client.get("c1").status == "cancelled"


def test_lease_of_a_live_process_blocks_and_of_a_dead_one_is_taken_over(
    load: Loader, db_url: str
) -> None:
    mod = load(FLOWS)
    journal = journal_for(db_url)
    run_id, _ = create_run(journal, mod.nap, (), {})
    holder = subprocess.Popen(["sleep", "600"])
    try:
        other = Owner(f"{Owner.here().host}:{holder.pid}:x", Owner.here().host, holder.pid)
        assert acquire(journal, run_id, other, wait=False) is not None
        assert acquire(journal, run_id, Owner.here(), wait=False) is None  # holder is alive
    finally:
        holder.kill()
        holder.wait()
    taken = acquire(journal, run_id, Owner.here(), wait=False)  # holder is gone: at once
    assert taken is not None and taken[1] == 2
