"""TaskGroup and create_task inside a run: children keyed by creation order, replayed exactly."""

from __future__ import annotations

import pytest

import durablec

from helpers import Loader, rewind, step_rows

TASKS = """
import asyncio
import durablec
from durablec import Retry

CALLS = []

async def fetch(name, delay):
    await asyncio.sleep(delay)
    CALLS.append(name)
    return name.upper()

async def fetch_twice(name, delay):
    a = await fetch(name, delay)
    b = await fetch(name + "2", 0)
    return a + b

async def boom():
    await asyncio.sleep(0.01)
    CALLS.append("boom")
    raise ValueError("child failed")

@durablec.task(id="group", retry=Retry.none())
async def group():
    async with asyncio.TaskGroup() as tg:
        # created in this order; they finish in the reverse order
        slow = tg.create_task(fetch_twice("a", 0.06))
        mid = tg.create_task(fetch_twice("b", 0.03))
        fast = tg.create_task(fetch_twice("c", 0.0))
    return [slow.result(), mid.result(), fast.result()]

@durablec.task(id="created", retry=Retry.none())
async def created():
    t1 = asyncio.create_task(fetch("x", 0.02))
    t2 = asyncio.create_task(fetch("y", 0.0))
    return await t1 + await t2

@durablec.task(id="failing-group", retry=Retry.none())
async def failing_group():
    caught = ""
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fetch("slow", 5))
            tg.create_task(boom())
    except* ValueError as group:
        caught = f"caught {len(group.exceptions)}: {group.exceptions[0]}"
    return caught
"""


def test_taskgroup_children_are_keyed_by_creation_order(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.group, db=db_url, run_id="g1") == ["AA2", "BB2", "CC2"]
    rows = {key: callee for key, callee, _a, _o, final in step_rows(db_url, "g1") if final}
    assert rows["1"] == "fetch_twice" and rows["1.0"] == "fetch" and rows["3.1"] == "fetch"
    # whatever the kill point, a resume gives the same result and runs no finished child again
    total = len(step_rows(db_url, "g1"))
    for keep in range(total):
        mod.CALLS.clear()
        rewind(db_url, "g1", keep)
        assert durablec.run(mod.group, db=db_url, run_id="g1") == ["AA2", "BB2", "CC2"]
        assert len(mod.CALLS) == len(set(mod.CALLS)), mod.CALLS


def test_create_task_awaited_later(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.created, db=db_url, run_id="c1") == "XY"
    mod.CALLS.clear()
    keys = [key for key, *_ in step_rows(db_url, "c1")]
    rewind(db_url, "c1", keys.index("1") + 1)  # y (child "1") finished and was recorded; x not
    assert durablec.run(mod.created, db=db_url, run_id="c1") == "XY"
    assert mod.CALLS == ["x"]


def test_a_failing_child_cancels_its_siblings_and_replays_so(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.failing_group, db=db_url, run_id="f1") == "caught 1: child failed"
    outcomes = {key: outcome for key, _c, _a, outcome, final in step_rows(db_url, "f1") if final}
    assert outcomes["1"] == "cancelled" and outcomes["2"] == "error"
    mod.CALLS.clear()
    rewind(db_url, "f1", 100)
    assert durablec.run(mod.failing_group, db=db_url, run_id="f1") == "caught 1: child failed"
    assert mod.CALLS == []
