"""SIGTERM stops a worker gracefully: runs in flight stop at their next checkpoint (or are
cancelled after the grace period) and are released, so another worker takes them at once."""

from __future__ import annotations

import signal
from pathlib import Path

from durablec.runtime.store import Journal
from durablec.runtime.creation import create_run
from durablec.runtime.task import Task

from scale_support import Worker, run_rows, wait_for

TASKS = """
import asyncio
import os

import durablec

LOG = os.environ["STOP_LOG"]

def log(text):
    with open(LOG, "a") as out:
        out.write(text + "\\n")

async def tick(n):
    log(f"start tick {n}")
    await asyncio.sleep(0.03)
    log(f"end tick {n}")
    return n

async def hold():
    log("start hold")
    while not os.path.exists(os.environ["STOP_RELEASE"]):
        await asyncio.sleep(0.05)
    log("end hold")
    return "held"

@durablec.task(id="ticker")
async def ticker(count):
    total = 0
    for n in range(count):
        total += await tick(n)
    return total

@durablec.task(id="holder")
async def holder():
    return await hold()
"""


async def _stand_in(*args: object) -> None:
    """Runs are created here under the tasks' ids; only the workers execute them."""


def _lines(tmp: Path) -> list[str]:
    log = tmp / "log"
    return log.read_text().splitlines() if log.exists() else []


def test_sigterm_releases_runs_for_other_workers(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    env = {"STOP_LOG": str(tmp_path / "log"), "STOP_RELEASE": str(tmp_path / "release")}
    journal = Journal(db_url)
    ticker, _ = create_run(journal, Task(_stand_in, id="ticker"), (150,), {})
    holder, _ = create_run(journal, Task(_stand_in, id="holder"), (), {})
    targets = ("tasks.py:ticker", "tasks.py:holder")
    first = Worker(tmp_path, db_url, *targets, "--grace", "1", env=env)
    wait_for(lambda: "start hold" in _lines(tmp_path) and "end tick 3" in _lines(tmp_path),
             "both runs to be in flight")
    first.signal(signal.SIGTERM)
    assert first.wait("the worker to stop after SIGTERM") == 0
    rows = run_rows(db_url)
    for run_id in (ticker, holder):
        assert rows[run_id].status == "pending", rows[run_id]
        assert rows[run_id].lease_owner is None and rows[run_id].lease_expires_at is None
    lines = _lines(tmp_path)
    ticks = [line for line in lines if "tick" in line]
    # The ticker stopped between two steps: its last step ended, and no later one started.
    assert ticks[-1].startswith("end tick") and len(ticks) < 300
    assert "end hold" not in lines  # held inside its step past the grace period: cancelled

    (tmp_path / "release").touch()
    second = Worker(tmp_path, db_url, *targets, "--until-idle", env=env)
    assert second.wait("the second worker to finish both runs") == 0
    rows = run_rows(db_url)
    assert rows[ticker].result_repr == str(sum(range(150)))
    assert rows[holder].result_repr == "'held'"
    assert rows[ticker].lease_epoch == 2  # taken by the second worker without waiting
    ended = [line for line in _lines(tmp_path) if line.startswith("end tick")]
    assert len(ended) == len(set(ended)) == 150  # no tick ran to its end twice
