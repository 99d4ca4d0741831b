"""Worker churn on a real PostgreSQL: 3 worker processes, 300 runs, a worker SIGKILLed and
replaced about every second until every run has ended.

Then: every run completed with the right result; no run is left running; each step has one final
record; and no step started after another execution had committed its outcome (each step logs
its start time; a start later than the committed record's finish would be a duplicate execution
after commit, the one thing fencing and replay must rule out).
"""

from __future__ import annotations

import random
import signal
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import insert

from durablec.runtime.store import Journal, now
from durablec.runtime.store.schema import runs

from scale_support import Worker, run_rows, step_rows, wait_for

TASKS = """
import asyncio
import os
import time

import durablec

LOG = os.environ["CHURN_LOG"]

def log(text):
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (text + "\\n").encode())  # one write per line: lines never interleave
    finally:
        os.close(fd)

async def step(run_id, name, value):
    log(f"{run_id} {name} {time.time():.6f} {os.getpid()}")
    await asyncio.sleep(0.01 * (value % 5))
    return value

@durablec.task(id="churn")
async def churn(n):
    run_id = durablec.idempotency_key().split("/")[0]
    a = await step(run_id, "a", n)
    b = await step(run_id, "b", a * 2)
    c, d = await asyncio.gather(step(run_id, "c", b + 1), step(run_id, "d", b + 2))
    return await step(run_id, "e", c + d)
"""

RUNS = 300
WORKERS = 3
# The steps' keys in the journal: gather's children are journaled by argument position.
KEYS = {"a": "0", "b": "1", "c": "2:0", "d": "2:1", "e": "3"}


def _create_runs(db: str) -> None:
    journal = Journal(db)
    at = now()
    from durablec.runtime.serde import Codec

    codec = Codec.from_env()
    with journal.begin() as conn:
        conn.execute(insert(runs), [
            {"id": f"r{n:03d}", "task_id": "churn", "status": "pending", "attempt": 1,
             "args": codec.dumps(((n,), {}), f"r{n:03d}/args"), "lease_epoch": 0,
             "created_at": at + n * 1e-6, "updated_at": at}
            for n in range(RUNS)
        ])
    journal.close()


def test_all_runs_complete_once_under_worker_churn(tmp_path: Path, postgres_url: str) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    env = {"CHURN_LOG": str(tmp_path / "log")}
    Journal(postgres_url).close()  # the schema exists before the workers race to create it
    args = ("tasks.py:churn", "--concurrency", "8")
    workers = [Worker(tmp_path, postgres_url, *args, env=env) for _ in range(WORKERS)]
    _create_runs(postgres_url)
    chooser = random.Random(7)
    kills = 0

    def done() -> bool:
        return all(row.status == "completed" for row in run_rows(postgres_url).values())

    started = time.monotonic()
    deadline = started + 300
    try:
        while not done():
            assert time.monotonic() < deadline, "runs still unfinished after 300 s of churn"
            time.sleep(chooser.uniform(0.6, 1.4))
            victim = chooser.randrange(WORKERS)
            workers[victim].kill()
            kills += 1
            workers[victim] = Worker(tmp_path, postgres_url, *args, env=env)
        print(f"{RUNS} runs done in {time.monotonic() - started:.1f} s with {kills} kills")
        for worker in workers:
            # A worker that has not started serving has no SIGTERM handler yet.
            wait_for(lambda: "serving" in worker.stderr(), "a replacement worker to start")
            worker.signal(signal.SIGTERM)
        for worker in workers:
            assert worker.wait("a worker to stop at SIGTERM") == 0
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()

    rows = run_rows(postgres_url)
    assert len(rows) == RUNS and {row.status for row in rows.values()} == {"completed"}
    for run_id, row in rows.items():
        n = int(run_id[1:])
        assert row.result_repr == str(4 * n + 3), (run_id, row.result_repr)
        assert row.lease_owner is None
    # The churn really interrupted runs in flight: some were taken over from killed workers.
    assert kills >= 2 and max(row.lease_epoch for row in rows.values()) >= 2

    committed: dict[tuple[str, str], float] = {}
    for step in step_rows(postgres_url):
        if step.final:
            assert (step.run_id, step.key) not in committed, f"two final records: {step}"
            committed[(step.run_id, step.key)] = step.finished_at
    starts: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    for line in (tmp_path / "log").read_text().splitlines():
        run_id, name, started, pid = line.split()
        starts[(run_id, KEYS[name])].append((float(started), pid))
    late = [(key, started, pid, committed[key]) for key, seen in starts.items()
            for started, pid in seen if started > committed[key]]
    assert late == [], f"steps executed after their outcome was committed: {late[:5]}"
    assert set(starts) == {(f"r{n:03d}", key) for n in range(RUNS) for key in KEYS.values()}
