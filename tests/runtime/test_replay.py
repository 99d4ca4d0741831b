"""Replay: recorded steps return their outcome without running; keys follow the call tree."""

from __future__ import annotations

import gc
import warnings
from typing import Any

import pytest
from sqlalchemy import event

import durablec
from durablec.errors import NonDeterminismError, NotCompiledError, RunSuspendedError
from durablec.runtime.store.schema import runs, steps
from durablec.runtime.runner import journal_for
from durablec.testing import assert_replays, time_skipping

from helpers import Loader
from helpers import rewind, step_rows

ORDERS = """
import asyncio
import durablec

CALLS = []

async def fetch(x):
    CALLS.append(("fetch", x))
    return {"x": x}

async def charge(total, key):
    CALLS.append(("charge", total, key))
    return "ch_" + str(total)

async def helper(n, pause):
    a = await fetch(n)
    await asyncio.sleep(pause)
    b = await fetch(n + 1)
    return a["x"] + b["x"]

@durablec.task(id="orders")
async def process(order_id):
    order = await fetch(order_id)
    charged = await charge(10, durablec.idempotency_key())
    total = await helper(1, 0)
    both = await asyncio.gather(helper(10, 0.05), helper(20, 0))
    return [order, charged, total, both]
"""

EXPECTED = [{"x": "o1"}, "ch_10", 3, [21, 41]]


def test_completed_steps_are_not_run_again(load: Loader, db_url: str) -> None:
    mod = load(ORDERS)
    assert durablec.run(mod.process, "o1", db=db_url, run_id="r1") == EXPECTED
    assert len(mod.CALLS) == 8
    charge_key = mod.CALLS[1][2]
    for keep in (1, 2, 4, 5, 9):
        mod.CALLS.clear()
        rewind(db_url, "r1", keep)
        assert durablec.run(mod.process, "o1", db=db_url, run_id="r1") == EXPECTED
        assert len(mod.CALLS) < 8
        assert all(call[2] == charge_key for call in mod.CALLS if call[0] == "charge")
    # A finished run is not executed again: its stored result is returned.
    mod.CALLS.clear()
    assert durablec.run(mod.process, "o1", db=db_url, run_id="r1") == EXPECTED
    assert mod.CALLS == []


def test_gather_children_are_keyed_by_position(load: Loader, db_url: str) -> None:
    mod = load(ORDERS)
    durablec.run(mod.process, "o1", db=db_url, run_id="g1")
    rows = {key: callee for key, callee, *_ in step_rows(db_url, "g1")}
    # helper(10, 0.05) finishes last but is still argument 0.
    assert rows["3:0.0"] == rows["3:1.0"] == "fetch"
    journal = journal_for(db_url)
    with journal.begin() as conn:
        previews = dict(conn.exec_driver_sql(
            "SELECT key, result_repr FROM durablec_steps WHERE run_id = 'g1'").all())
    assert previews["3:0.0"] == "{'x': 10}" and previews["3:1.0"] == "{'x': 20}"


def test_resume_loads_journal_once_and_replay_touches_no_database(
    load: Loader, db_url: str
) -> None:
    mod = load(ORDERS)
    durablec.run(mod.process, "o1", db=db_url, run_id="q1")
    rows = len(step_rows(db_url, "q1"))
    rewind(db_url, "q1", rows - 1)  # everything but the gather itself is recorded
    statements: list[str] = []
    engine = journal_for(db_url).engine

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        mod.CALLS.clear()
        assert durablec.run(mod.process, "o1", db=db_url, run_id="q1") == EXPECTED
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert mod.CALLS == []
    step_reads = [s for s in statements if "FROM durablec_steps" in s and "INSERT" not in s]
    step_writes = [s for s in statements if s.startswith("INSERT INTO durablec_steps")]
    assert len(step_reads) == 1 and len(step_writes) == 1


SLEEPER = """
import durablec

CALLS = []

async def step(name):
    CALLS.append(name)
    return name

@durablec.task(id="sleeper")
async def flow():
    a = await step("a")
    await durablec.sleep(3600)
    b = await step("b")
    return a + b
"""

REORDERED = SLEEPER.replace('a = await step("a")', 'a = await durablec.now()')
BENIGN = SLEEPER.replace("import durablec\n", "import durablec\n\n# a comment\n\n\n")


def test_reordered_steps_raise_nondeterminism_and_stay_resumable(
    load: Loader, db_url: str
) -> None:
    original = load(SLEEPER)
    with pytest.raises(RunSuspendedError):
        durablec.run(original.flow, db=db_url, run_id="n1")
    changed = load(REORDERED)
    with pytest.raises(NonDeterminismError) as info:
        durablec.run(changed.flow, db=db_url, run_id="n1")
    message = str(info.value)
    assert "`step`" in message and "`durablec.now`" in message
    # Both steps are named with their place: the recorded one and the one the code reaches now.
    assert f"{original.__file__}:12" in message and f"{changed.__file__}:12" in message
    assert durablec.Client(db_url).get("n1").status == "paused"
    fixed = load(BENIGN)  # same steps, lines moved down by comments and blank lines
    with time_skipping():  # the hour passes at once
        assert durablec.run(fixed.flow, db=db_url, run_id="n1") == "ab"
    assert fixed.CALLS == ["b"]


def test_changed_arguments_are_detected(load: Loader, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original = load(SLEEPER)
    with pytest.raises(RunSuspendedError):
        durablec.run(original.flow, db=db_url, run_id="m1")
    other = load(SLEEPER.replace('step("a")', 'step("A")'))
    with pytest.raises(NonDeterminismError, match="other arguments"):
        durablec.run(other.flow, db=db_url, run_id="m1")
    with pytest.raises(AssertionError, match="other arguments"):
        assert_replays(other.flow, "m1", db=db_url)  # and a replay test finds it before a deploy


def test_uncompiled_task_is_refused(db_url: str) -> None:
    async def fetch() -> int:
        return 1

    @durablec.task(id="plain")
    async def plain() -> int:
        return await fetch()

    with pytest.raises(NotCompiledError, match="did not compile"):
        durablec.run(plain, db=db_url)


ITER = """
import durablec
from contextlib import asynccontextmanager

CALLS = []

async def produce(i):
    CALLS.append(("produce", i))
    return i * 10

async def gen(n):
    for i in range(n):
        yield await produce(i)

@asynccontextmanager
async def resource():
    CALLS.append("open")
    yield "res"
    CALLS.append("close")

async def use(x):
    CALLS.append(("use", x))
    return x

@durablec.task(id="iterate")
async def flow():
    out = []
    async with resource() as r:
        async for item in gen(3):
            out.append(await use(item))
    return r, out
"""


def test_async_for_and_async_with_resume_without_running_twice(load: Loader, db_url: str) -> None:
    mod = load(ITER)
    assert durablec.run(mod.flow, db=db_url, run_id="i1") == ("res", [0, 10, 20])
    keys = [key for key, *_ in step_rows(db_url, "i1")]
    # The compiled context manager is entered live in every execution (its entry is marked live).
    assert keys[0] == "0<" and "0>" not in keys and "1#0" in keys and "1#3" in keys and "1.0" in keys
    total = len(keys)
    for keep in range(1, total):
        mod.CALLS.clear()
        rewind(db_url, "i1", keep)
        assert durablec.run(mod.flow, db=db_url, run_id="i1") == ("res", [0, 10, 20])
        produced = [c for c in mod.CALLS if isinstance(c, tuple)]
        assert len(produced) == len(set(produced)), produced


def test_replay_closes_unneeded_coroutines(load: Loader, db_url: str) -> None:
    mod = load(ORDERS)
    durablec.run(mod.process, "o1", db=db_url, run_id="c1")
    rewind(db_url, "c1", 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # Re-run from an unfinished status: the recorded gather closes its coroutine arguments.
        with journal_for(db_url).begin() as conn:
            conn.exec_driver_sql("UPDATE durablec_runs SET status = 'pending' WHERE id = 'c1'")
        assert durablec.run(mod.process, "o1", db=db_url, run_id="c1") == EXPECTED
        gc.collect()
