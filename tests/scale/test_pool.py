"""A worker's --concurrency is not capped by its connection pool: 20 runs in flight at once, each
holding its journal connection, all inside a step at the same moment."""

from __future__ import annotations

from pathlib import Path

from durablec.runtime.journal import Journal
from durablec.runtime.runner import create_run
from durablec.runtime.task import Task

from scale_support import Worker, run_rows

TASKS = """
import asyncio
import os

import durablec

LOG = os.environ["POOL_LOG"]

async def meet(n):
    with open(LOG, "a") as out:
        out.write(f"{n}\\n")
    # Returns only once every run is inside this step: all 20 are in flight together.
    while len(open(LOG).read().split()) < 20:
        await asyncio.sleep(0.02)
    return n

@durablec.task(id="crowd")
async def crowd(n):
    return await meet(n)
"""


async def _stand_in(*args: object) -> None:
    """Runs are created here under the task's id; only the worker executes them."""


def test_twenty_runs_in_flight_in_one_worker(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    journal = Journal(postgres_url)
    made = [create_run(journal, Task(_stand_in, id="crowd"), (n,), {})[0] for n in range(20)]
    worker = Worker(tmp_path, postgres_url, "tasks.py:crowd", "--concurrency", "20",
                    "--until-idle", env={"POOL_LOG": str(tmp_path / "log")})
    assert worker.wait("20 runs in flight at once to finish") == 0
    rows = run_rows(postgres_url)
    assert [rows[run_id].result_repr for run_id in made] == [str(n) for n in range(20)]
