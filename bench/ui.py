"""Server time of the dashboard on a large journal, SQLite and PostgreSQL: the run list (plain,
filtered, searched, deep page), the counts, and the page and timeline of a run with 1,000 step
attempts (ten helper scopes of 100 steps, as the waterfall groups them), 1,000 log records (one
on the way to each step) and ten executions (every third killed, so the page marks the gaps).

    .venv/bin/python bench/ui.py [--runs 100000] [--repeat 20] [--backends sqlite,postgresql]

Each journal is filled once straight through the schema's tables in one transaction, which is how
a bench may write rows the runtime would take hours to produce: SQLite in a temporary directory,
PostgreSQL on a throwaway server (tests/pg.py's, on a free loopback port, fsync on). Every timed
request then goes through the ASGI app in-process (Starlette's TestClient), so the figures are the
server's own time: routing, Client, the store's queries, and rendering; what a browser adds
before its first paint (parsing a page of static HTML, one small script) is not in them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.testclient import TestClient

from durablec._ui.app import make_app
from durablec.runtime.client import Client
from durablec.runtime.model import RUN_STATUSES
from durablec.runtime.store.schema import executions, logs, runs, steps
from run import postgres  # bench/run.py's throwaway PostgreSQL server

TASKS = [f"task_{n}" for n in range(20)]
QUEUES = [None, "fast", "slow", "emails"]


def fill(client: Client, count: int) -> None:
    rng = random.Random(7)
    start = time.time() - count
    rows = []
    for n in range(count):
        at = start + n
        status = rng.choice(RUN_STATUSES)
        rows.append({
            "id": f"run-{n:08d}", "task_id": rng.choice(TASKS), "status": status,
            "created_at": at, "updated_at": at + 1, "queue": rng.choice(QUEUES),
            "idempotency_key": f"key-{n}" if n % 10 == 0 else None,
            "finished_at": at + 1 if status in ("completed", "failed") else None,
            "attempt": 1, "lease_epoch": 0,
        })
    big = "run-big"
    rows.append({"id": big, "task_id": "big", "status": "completed", "created_at": start,
                 "updated_at": start + 100, "finished_at": start + 100, "attempt": 1,
                 "lease_epoch": 0, "queue": None, "idempotency_key": None})
    step_rows = [{
        "run_id": big, "key": f"{n // 100}.{n % 100}", "attempt": 1, "kind": "call",
        "callee": "fetch", "file": "tasks.py", "line": 10, "col": 4, "outcome": "ok",
        "final": True, "args_repr": repr(n), "result_repr": repr({"n": n, "text": "x" * 40}),
        "started_at": start + n * 0.1, "finished_at": start + n * 0.1 + 0.05,
    } for n in range(1000)]
    log_rows = [{
        "run_id": big, "position": f"{n // 100}.{n % 100}", "attempt": 1,
        "at": start + n * 0.1 - 0.01, "level": 30 if n % 50 == 0 else 20, "logger": "tasks",
        "message": f"fetching item {n}", "file": "tasks.py", "line": 9,
    } for n in range(1000)]
    execution_rows = [{
        "run_id": big, "epoch": epoch, "worker": f"host:{epoch}", "resumed": epoch > 1,
        "started_at": start + (epoch - 1) * 10, "ended_at": start + epoch * 10 - 0.5,
        "status": "completed" if epoch == 10 else "sleeping", "reason": "sleep",
        "wake_at": None, "waiting_for": None, "replayed": (epoch - 1) * 100, "live": 100,
    } for epoch in range(1, 11) if epoch % 3]
    with client.journal.begin() as conn:
        conn.execute(runs.insert(), rows)
        conn.execute(steps.insert(), step_rows)
        conn.execute(logs.insert(), log_rows)
        conn.execute(executions.insert(), execution_rows)


def timed(http: TestClient, path: str, repeat: int) -> tuple[float, float]:
    took = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = http.get(path)
        took.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(took), max(took)


CASES = (
    ("run list, newest 50", "/runs"),
    ("run list, status=failed", "/runs?status=failed"),
    ("run list, task + queue", "/runs?task=task_3&queue=slow"),
    ("run list, search id prefix", "/runs?q=run-0004"),
    ("run list, search idempotency key", "/runs?q=key-50000"),
    ("run list, page 100", "/runs?offset=5000"),
    ("api: runs", "/api/runs?status=waiting"),
    ("api: counts", "/api/counts"),
    ("run page, 1,000 steps", "/runs/run-big"),
    ("api: timeline, 1,000 steps", "/api/runs/run-big/timeline"),
    ("queues and workers", "/queues"),
)


@contextmanager
def journal_url(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'ui.db'}"
        return
    with postgres(True) as server:
        yield server.create_database()


def measure(backend: str, runs: int, repeat: int) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp, journal_url(backend, Path(tmp)) as url:
        client = Client(url)
        began = time.perf_counter()
        fill(client, runs)
        print(f"{backend}: filled {runs:,} runs and a 1,000-step run in "
              f"{time.perf_counter() - began:.1f} s", flush=True)
        if backend == "postgresql":
            with client.journal.begin() as conn:
                conn.exec_driver_sql("ANALYZE")  # as autovacuum would soon after a bulk load
        http = TestClient(make_app(client), base_url="http://127.0.0.1")
        return {name: timed(http, path, repeat) for name, path in CASES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    options = parser.parse_args()
    backends = options.backends.split(",")
    figures = {backend: measure(backend, options.runs, options.repeat) for backend in backends}
    print(f"\nserver time in ms, median and max of {options.repeat} requests "
          f"({options.runs:,} runs)")
    print(f"{'request':34}" + "".join(f"{b + ' med':>16}{'max':>8}" for b in backends))
    for name, _ in CASES:
        cells = "".join(f"{figures[b][name][0]:16.1f}{figures[b][name][1]:8.1f}"
                        for b in backends)
        print(f"{name:34}{cells}")


if __name__ == "__main__":
    main()
