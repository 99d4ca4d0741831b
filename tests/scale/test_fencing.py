"""Leases under stalls, with real worker processes (2-second leases).

A worker SIGSTOPped inside a step loses its lease to another worker, which finishes the run; woken
with SIGCONT, it writes nothing and stops the run. A step that blocks the event loop for longer
than the lease does not lose it: the heartbeat is a thread.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import text

from durablec.runtime.store import Journal
from durablec.runtime.creation import create_run
from durablec.runtime.task import Task

from scale_support import Worker, run_rows, step_rows, wait_for

TASKS = """
import asyncio
import os
import time

import durablec

LOG = os.environ["FENCE_LOG"]

def log(text):
    with open(LOG, "a") as out:
        out.write(f"{text} {os.getpid()}\\n")

def starts(name):
    with open(LOG) as seen:
        return sum(line.startswith("start " + name + " ") for line in seen)

async def step(name, value):
    log("start " + name)
    if name == "two" and starts("two") == 1:
        # The first execution holds here (and is stopped) until the test releases it.
        while not os.path.exists(os.environ["FENCE_RELEASE"]):
            await asyncio.sleep(0.05)
    log("end " + name)
    return value

def block(seconds):
    log("start block")
    time.sleep(seconds)  # holds the event loop: no asyncio task can renew a lease meanwhile
    log("end block")
    return seconds

@durablec.task(id="stalled")
async def stalled(n):
    a = await step("one", n)
    b = await step("two", a + 1)
    c = await step("three", b + 1)
    return [a, b, c]

@durablec.task(id="blocking")
async def blocking(seconds):
    await step("before", 0)
    slept = await asyncio.sleep(0, block(seconds))
    return await step("after", slept)
"""

LEASE = {"DURABLEC_LEASE_SECONDS": "2"}


async def _stand_in(*args: object) -> None:
    """Runs are created here under the tasks' ids; only the workers execute them."""


def _lines(tmp: Path) -> list[str]:
    log = tmp / "log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_stopped_worker_that_wakes_after_losing_its_lease_writes_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    env = dict(LEASE, FENCE_LOG=str(tmp_path / "log"), FENCE_RELEASE=str(tmp_path / "release"))
    journal = Journal(postgres_url)
    run_id, _ = create_run(journal, Task(_stand_in, id="stalled"), (1,), {})
    first = Worker(tmp_path, postgres_url, "tasks.py:stalled", env=env)
    second: Worker | None = None
    try:
        wait_for(lambda: f"start two {first.pid}" in _lines(tmp_path), "the first worker in step two")
        first.signal(signal.SIGSTOP)
        second = Worker(tmp_path, postgres_url, "tasks.py:stalled", env=env)
        wait_for(lambda: run_rows(postgres_url)[run_id].status == "completed",
                 "the second worker to take over after the lease expired and finish the run")
        row = run_rows(postgres_url)[run_id]
        assert row.result_repr == "[1, 2, 3]" and row.lease_epoch == 2
        journal_before = [tuple(step) for step in step_rows(postgres_url, run_id)]

        (tmp_path / "release").touch()  # the stalled step may now return, if it is not stopped
        first.signal(signal.SIGCONT)
        wait_for(lambda: f"run {run_id}: " in first.stderr(),
                 "the first worker to notice it lost the run")
        assert "lost to another worker" in first.stderr()
        assert [tuple(step) for step in step_rows(postgres_url, run_id)] == journal_before
        assert run_rows(postgres_url)[run_id].result_repr == "[1, 2, 3]"
        with journal.begin() as conn:
            runs_written = conn.execute(text("SELECT count(*) FROM durablec_runs")).scalar_one()
        assert runs_written == 1
        # The first worker never got past step two; the second ran it again and went on.
        lines = _lines(tmp_path)
        assert f"start three {first.pid}" not in lines
        assert f"end two {second.pid}" in lines and f"end three {second.pid}" in lines
    finally:
        first.signal(signal.SIGCONT)
        first.kill()
        if second is not None:
            second.kill()


def test_a_step_blocking_the_event_loop_keeps_its_lease(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    env = dict(LEASE, FENCE_LOG=str(tmp_path / "log"), FENCE_RELEASE=str(tmp_path / "release"))
    journal = Journal(db_url)
    run_id, _ = create_run(journal, Task(_stand_in, id="blocking"), (5,), {})
    workers = [Worker(tmp_path, db_url, "tasks.py:blocking", env=env) for _ in range(2)]
    try:
        wait_for(lambda: run_rows(db_url)[run_id].status == "completed", "the run to end")
    finally:
        for worker in workers:
            worker.kill()
    row = run_rows(db_url)[run_id]
    assert row.result_repr == "5"
    # Blocked 2.5 leases long, the step still ran once, under the first and only lease.
    assert sum(line.startswith("start block") for line in _lines(tmp_path)) == 1
    assert row.lease_epoch == 1
