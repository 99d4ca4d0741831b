"""asyncio.as_completed and asyncio.wait inside a run: the completion order is journaled and replayed."""

from __future__ import annotations

from collections import Counter

import pytest

import durablec
from durablec.errors import UsageError

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

async def boom(delay):
    await asyncio.sleep(delay)
    CALLS.append("boom")
    raise ValueError("child failed")

@durablec.task(id="answers", retry=Retry.none())
async def answers():
    # created slowest first: they complete in the reverse order
    tasks = [asyncio.create_task(fetch("slow", 0.3)), asyncio.create_task(fetch("mid", 0.15)),
             asyncio.create_task(fetch("fast", 0.0))]
    return [await fut for fut in asyncio.as_completed(tasks)]

@durablec.task(id="in-order", retry=Retry.none())
async def in_order():
    # created fastest first: completion order is creation order
    tasks = [asyncio.create_task(fetch("fast", 0.0)), asyncio.create_task(fetch("mid", 0.15)),
             asyncio.create_task(fetch("slow", 0.3))]
    return [await fut for fut in asyncio.as_completed(tasks)]

@durablec.task(id="coroutines", retry=Retry.none())
async def coroutines():
    order = []
    for fut in asyncio.as_completed([fetch("slow", 0.3), boom(0.0), fetch("fast", 0.15)]):
        try:
            order.append(await fut)
        except ValueError as error:
            order.append(f"error: {error}")
    return order

@durablec.task(id="first-wins", retry=Retry.none())
async def first_wins():
    tasks = {asyncio.create_task(fetch(name, delay))
             for name, delay in (("slow", 0.3), ("fast", 0.0), ("mid", 0.15))}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    winner = [t.result() for t in done]
    for t in pending:
        t.cancel()
    done, still = await asyncio.wait(pending)
    return winner, sorted(t.cancelled() for t in done), len(still)

@durablec.task(id="first-error", retry=Retry.none())
async def first_error():
    tasks = [asyncio.create_task(fetch("slow", 0.3)), asyncio.create_task(boom(0.0))]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    errors = [str(t.exception()) for t in done]
    done, _ = await asyncio.wait(pending, return_when=asyncio.ALL_COMPLETED)
    return errors, [t.result() for t in done]

@durablec.task(id="foreign", retry=Retry.none())
async def foreign():
    future = asyncio.get_running_loop().create_future()
    future.set_result(1)
    return [await fut for fut in asyncio.as_completed([future])]
"""

CASES = [
    ("answers", ["FAST", "MID", "SLOW"]),
    ("in_order", ["FAST", "MID", "SLOW"]),
    ("coroutines", ["error: child failed", "FAST", "SLOW"]),
    ("first_wins", (["FAST"], [True, True], 0)),
    ("first_error", (["child failed"], ["SLOW"])),
]


def _finals_once(db_url: str, run_id: str) -> None:
    finals = Counter(key for key, _c, _a, _o, final in step_rows(db_url, run_id) if final)
    assert all(count == 1 for count in finals.values()), finals


@pytest.mark.parametrize(("task", "expected"), CASES, ids=[name for name, _ in CASES])
def test_completion_order_replays_after_a_crash_anywhere(
    load: Loader, db_url: str, task: str, expected: object
) -> None:
    mod = load(TASKS)
    fn = getattr(mod, task)
    result = durablec.run(fn, db=db_url, run_id="r")
    assert result == expected if not isinstance(expected, tuple) else tuple(result) == expected
    _finals_once(db_url, "r")
    ran = Counter(mod.CALLS)
    total = len(step_rows(db_url, "r"))
    # Whatever the point of the crash, a resume gives the same result, runs no child that had
    # finished again, and leaves one final row per step.
    for keep in range(total):
        mod.CALLS.clear()
        rewind(db_url, "r", keep)
        again = durablec.run(fn, db=db_url, run_id="r")
        assert (again if not isinstance(expected, tuple) else tuple(again)) == expected, keep
        assert not Counter(mod.CALLS) - ran, (keep, mod.CALLS)
        _finals_once(db_url, "r")


def test_replay_marks_the_children_it_handed_out(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.in_order, db=db_url, run_id="a") == ["FAST", "MID", "SLOW"]
    keys = [key for key, *_ in step_rows(db_url, "a")]
    # Keep the first await (step 3, which got child 0, "fast") and child 1 ("mid") finished. On
    # resume both children replay at once; the first await replays "fast" from the journal, so
    # the next, live, await must give "mid", not "fast" a second time.
    assert keys.index("3") < keys.index("1") < keys.index("4")
    rewind(db_url, "a", keys.index("1") + 1)
    mod.CALLS.clear()
    assert durablec.run(mod.in_order, db=db_url, run_id="a") == ["FAST", "MID", "SLOW"]
    assert mod.CALLS == ["slow"]
    _finals_once(db_url, "a")


def test_a_future_that_is_not_a_child_stops_the_run(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    line = next(n for n, text in enumerate(TASKS.splitlines(), 1) if "as_completed([future])" in text)
    with pytest.raises(UsageError, match=rf"\.py:{line}: `asyncio.as_completed` in run x waits on .* not a child"):
        durablec.run(mod.foreign, db=db_url, run_id="x")


def test_outside_a_run_the_calls_are_asyncio_s_own(load: Loader) -> None:
    import asyncio

    mod = load(TASKS)
    assert asyncio.run(mod.answers.__wrapped__()) == ["FAST", "MID", "SLOW"]
    assert tuple(asyncio.run(mod.first_error.__wrapped__())) == (["child failed"], ["SLOW"])
