"""Server time of the dashboard on a large SQLite journal: the run list (plain, filtered, searched,
deep page), the counts, and the page and timeline of a run with 1,000 step attempts.

    .venv/bin/python bench/ui.py [--runs 100000] [--repeat 20]

The journal is filled once (in a temporary directory) straight through the schema's tables in one
transaction, which is how a bench may write rows the runtime would take hours to produce; every
timed request then goes through the ASGI app in-process (Starlette's TestClient), so the figures
are the server's own time: routing, Client, the store's queries, and rendering.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from durablec._ui.app import make_app
from durablec.runtime.client import Client
from durablec.runtime.model import RUN_STATUSES
from durablec.runtime.store.schema import runs, steps

TASKS = [f"task_{n}" for n in range(20)]
QUEUES = [None, "fast", "slow", "emails"]


def fill(client: Client, count: int) -> str:
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
        "run_id": big, "key": f"{n // 100}/{n % 100}", "attempt": 1, "kind": "call",
        "callee": "fetch", "file": "tasks.py", "line": 10, "col": 4, "outcome": "ok",
        "final": True, "args_repr": repr(n), "result_repr": repr({"n": n, "text": "x" * 40}),
        "started_at": start + n * 0.1, "finished_at": start + n * 0.1 + 0.05,
    } for n in range(1000)]
    with client.journal.begin() as conn:
        conn.execute(runs.insert(), rows)
        conn.execute(steps.insert(), step_rows)
    return big


def timed(http: TestClient, path: str, repeat: int) -> tuple[float, float]:
    took = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = http.get(path)
        took.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(took), max(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        client = Client(f"sqlite:///{Path(tmp) / 'ui.db'}")
        began = time.perf_counter()
        big = fill(client, options.runs)
        print(f"filled {options.runs:,} runs and a 1,000-step run in "
              f"{time.perf_counter() - began:.1f} s")
        http = TestClient(make_app(client), base_url="http://127.0.0.1")
        cases = [
            ("run list, newest 50", "/runs"),
            ("run list, status=failed", "/runs?status=failed"),
            ("run list, task + queue", "/runs?task=task_3&queue=slow"),
            ("run list, search id prefix", "/runs?q=run-0004"),
            ("run list, search idempotency key", "/runs?q=key-50000"),
            ("run list, page 100", "/runs?offset=5000"),
            ("api: runs", "/api/runs?status=waiting"),
            ("api: counts", "/api/counts"),
            ("run page, 1,000 steps", f"/runs/{big}"),
            ("api: timeline, 1,000 steps", f"/api/runs/{big}/timeline"),
            ("queues and workers", "/queues"),
        ]
        print(f"{'request':36} {'median ms':>10} {'max ms':>8}")
        for name, path in cases:
            median, worst = timed(http, path, options.repeat)
            print(f"{name:36} {median:10.1f} {worst:8.1f}")


if __name__ == "__main__":
    main()
