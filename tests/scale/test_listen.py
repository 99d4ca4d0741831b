"""LISTEN/NOTIFY on a real PostgreSQL: an idle worker whose poll interval is an hour starts a
triggered run, and resumes a run sent its event, only because it was notified; a dropped
listening connection is reconnected."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from durablec import Client
from durablec.runtime.store import Journal
from durablec.runtime.creation import create_run
from durablec.runtime.task import Task

from scale_support import Worker, run_rows, wait_for

TASKS = """
import durablec

async def step(x):
    return x + 1

@durablec.task(id="bump")
async def bump(x):
    return await step(x)

@durablec.task(id="gate")
async def gate(x):
    y = await step(x)
    answer = await durablec.wait_for_event("go")
    return y + answer
"""


async def _stand_in(*args: object) -> None:
    """Runs are created here under the tasks' ids; only the worker executes them."""


def _listeners(journal: Journal) -> int:
    with journal.begin() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN durablec_due'"
        )).scalar_one())


def _status(db: str, run_id: str) -> str:
    return str(run_rows(db)[run_id].status)


def test_notifications_wake_an_idle_worker(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    journal = Journal(postgres_url)
    worker = Worker(tmp_path, postgres_url, "tasks.py:bump", "tasks.py:gate", "--poll", "3600")
    try:
        # Only once it listens can nothing but a notification make it claim again.
        wait_for(lambda: _listeners(journal) == 1, "the worker to LISTEN")
        bump, _ = create_run(journal, Task(_stand_in, id="bump"), (41,), {})
        wait_for(lambda: _status(postgres_url, bump) == "completed", "the triggered run to end")

        gate, _ = create_run(journal, Task(_stand_in, id="gate"), (1,), {})
        wait_for(lambda: _status(postgres_url, gate) == "waiting", "the run to wait for its event")
        Client(postgres_url).send_event(gate, "go", 40)
        wait_for(lambda: _status(postgres_url, gate) == "completed", "the event to resume the run")

        # Cut the listening connection: the worker reconnects, and finds what came meanwhile.
        with journal.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE query = 'LISTEN durablec_due'"))
        late, _ = create_run(journal, Task(_stand_in, id="bump"), (1,), {})
        wait_for(lambda: _status(postgres_url, late) == "completed", "a run after the reconnect")
        assert "lost the LISTEN connection" in worker.stderr()
    finally:
        worker.kill()
    rows = run_rows(postgres_url)
    assert [rows[run_id].result_repr for run_id in (bump, gate, late)] == ["42", "42", "2"]
