"""Crash tests for concurrent children: a real `durablec run` SIGKILLed inside a TaskGroup, tasks
created and awaited later, `asyncio.as_completed` and `asyncio.wait`, then resumed.

The kill comes once one child of the pattern is in flight and its siblings' outcomes are in the
journal. After the resume: the exact result, every child run to its end exactly once (the one in
flight at the kill started twice), and one final row per step.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import kill_when

TASKS = """
import asyncio
import os

import durablec

LOG = os.environ["CRASH_LOG"]

def log(text):
    with open(LOG, "a") as out:  # durablec: allow[DC402] (test instrumentation)
        out.write(text + "\\n")
        out.flush()
        os.fsync(out.fileno())

def starts(name):
    with open(LOG) as seen:  # durablec: allow[DC402]
        return sum(line.strip() == "start " + name for line in seen)

async def step(name, value, delay):
    log("start " + name)
    if os.environ.get("CRASH_AT") == f"{name}@{starts(name)}":  # durablec: allow[DC401]
        await asyncio.Event().wait()  # hold the child in flight until the process is killed
    await asyncio.sleep(delay)
    log("end " + name)
    return value

@durablec.task(id="concurrent", retry=durablec.Retry.none())
async def flow():
    async with asyncio.TaskGroup() as tg:
        g1 = tg.create_task(step("g1", 1, 0.2))
        g2 = tg.create_task(step("g2", 2, 0.0))
    later = asyncio.create_task(step("c1", 3, 0.2))
    soon = asyncio.create_task(step("c2", 4, 0.0))
    created = [await later, await soon]
    racing = [asyncio.create_task(step("r1", 5, 0.3)), asyncio.create_task(step("r2", 6, 0.0)),
              asyncio.create_task(step("r3", 7, 0.15))]
    order = [await fut for fut in asyncio.as_completed(racing)]
    waiting = [asyncio.create_task(step("w1", 8, 0.3)), asyncio.create_task(step("w2", 9, 0.0))]
    done, pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    first = [t.result() for t in done]
    done, _ = await asyncio.wait(pending)
    return [g1.result(), g2.result(), created, order, first, [t.result() for t in done]]
"""

NAMES = ("g1", "g2", "c1", "c2", "r1", "r2", "r3", "w1", "w2")


def _start(tmp: Path, crash_at: str | None) -> subprocess.Popen[str]:
    env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}",
               CRASH_LOG=str(tmp / "log"))
    env.pop("CRASH_AT", None)
    if crash_at:
        env["CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "durablec", "run", "tasks.py:flow", "--run-id", "R"],
        cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _lines(tmp: Path) -> list[str]:
    log = tmp / "log"
    return log.read_text().splitlines() if log.exists() else []


def _children_recorded(tmp: Path) -> int:
    """How many children have their final outcome in the journal (0 while it cannot be read)."""
    try:
        with sqlite3.connect(tmp / "j.db", timeout=0.1) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM durablec_steps WHERE kind = 'task' AND final AND outcome = 'ok'"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(count)


@pytest.mark.parametrize(
    ("crash_at", "siblings_done"),
    [("g1@1", 1), ("c1@1", 3), ("r1@1", 6), ("w1@1", 8)],
    ids=["taskgroup", "create-task-awaited-later", "as-completed", "wait"],
)
def test_sigkill_inside_a_concurrency_pattern_then_resume(
    tmp_path: Path, crash_at: str, siblings_done: int
) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    name = crash_at.split("@")[0]
    proc = _start(tmp_path, crash_at)
    kill_when(proc, lambda: "start " + name in _lines(tmp_path)
              and _children_recorded(tmp_path) >= siblings_done, f"{crash_at} with its siblings done")

    proc = _start(tmp_path, None)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out) == [1, 2, [3, 4], [6, 7, 5], [9], [8]]

    lines = _lines(tmp_path)
    starts = Counter(line[6:] for line in lines if line.startswith("start "))
    ends = Counter(line[4:] for line in lines if line.startswith("end "))
    assert ends == Counter(NAMES), ends  # every child ran to its end exactly once
    assert starts == Counter(NAMES) + Counter([name]), starts  # only the one in flight again

    with sqlite3.connect(tmp_path / "j.db") as db:
        assert db.execute("SELECT id, status FROM durablec_runs").fetchall() == [("R", "completed")]
        finals = db.execute(
            "SELECT key, COUNT(*) FROM durablec_steps WHERE final GROUP BY key HAVING COUNT(*) > 1"
        ).fetchall()
    assert finals == []
