"""A worker's --concurrency is not capped by its connection pool, and does not cost connections:
20 runs in flight at once, all inside a step at the same moment, share a handful of them (the
group commit's one, the claim's, the heartbeat's, the listener's)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from durablec.runtime.store import Journal
from durablec.runtime.creation import create_run
from durablec.runtime.task import Task

from scale_support import Worker, run_rows, wait_for

TASKS = """
import asyncio
import os

import durablec

LOG = os.environ["POOL_LOG"]
GO = os.environ["POOL_GO"]

async def meet(n):
    with open(LOG, "a") as out:
        out.write(f"{n}\\n")
    # Returns only once the test has looked: all 20 runs are in flight together until then.
    while not os.path.exists(GO):
        await asyncio.sleep(0.02)
    return n

@durablec.task(id="crowd")
async def crowd(n):
    return await meet(n)
"""

MOST_CONNECTIONS = 6
"""Group commit, claims, heartbeat, LISTEN, and one borrowed for a run-level write."""


def _connections(pid: int, port: int) -> int:
    """Open TCP connections of process ``pid`` to ``port`` on this host, read from /proc."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            established = fields[3] == "01"
            if established and remote_port == port and fields[9] in sockets:
                count += 1
    return count


async def _stand_in(*args: object) -> None:
    """Runs are created here under the task's id; only the worker executes them."""


def test_twenty_runs_in_flight_in_one_worker(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    journal = Journal(postgres_url)
    made = [create_run(journal, Task(_stand_in, id="crowd"), (n,), {})[0] for n in range(20)]
    log, go = tmp_path / "log", tmp_path / "go"
    worker = Worker(tmp_path, postgres_url, "tasks.py:crowd", "--concurrency", "20",
                    "--until-idle", env={"POOL_LOG": str(log), "POOL_GO": str(go)})
    wait_for(lambda: log.exists() and len(log.read_text().split()) == 20,
             "20 runs inside their step at once")
    held = _connections(worker.pid, make_url(postgres_url).port or 5432)
    go.touch()
    assert worker.wait("20 runs in flight at once to finish") == 0
    rows = run_rows(postgres_url)
    assert [rows[run_id].result_repr for run_id in made] == [str(n) for n in range(20)]
    assert 1 <= held <= MOST_CONNECTIONS, f"one worker with 20 runs in flight held {held}"
