"""Scaling out on PostgreSQL: runs per second with 1, 2 and 4 worker processes, and the latency
from triggering a run to its first step with LISTEN/NOTIFY and with polling.

    .venv/bin/python bench/scale.py [--runs N] [--workers 1,2,4] [--concurrency C] [--db URL]

Without ``--db`` it starts a throwaway PostgreSQL (tests/pg.py; initdb and pg_ctl must be
installed) with ``fsync`` turned back on, so commits cost what they cost on a real server. Each
throughput round starts W real ``durablec worker`` processes, waits until every one LISTENs (so
interpreter start-up is not timed), inserts N runs in one transaction, and measures from that
commit to the last run's ``finished_at``. Each run is a task of ``--steps`` checkpoints that do no
work of their own: the figure is the runtime's and the database's cost per run. Latency is the
time from a run's insert to its first step starting (``started_at`` of step 0), for runs
triggered one at a time at random moments to an idle worker.

On a machine with more cores, run ``--workers 1,2,4,8,16`` (and ``--db`` pointing at PostgreSQL
on its own machine, as in production); workers beyond the cores left to them only add contention.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, select, text  # noqa: E402

from durablec.runtime.store import Journal, now  # noqa: E402
from durablec.runtime.store.schema import runs, steps  # noqa: E402
from durablec.runtime.serde import Codec  # noqa: E402
from tests.pg import PostgresServer, _bindir  # noqa: E402

PREFIX = "scale-bench-"

TASKS = """
import durablec

async def step(i):
    return i

@durablec.task(id="scale-bench")
async def bench(steps):
    total = 0
    for i in range(steps):
        total += await step(i)
    return total
"""


def _workers(tmp: Path, journal: Journal, count: int, *options: str) -> list[subprocess.Popen[bytes]]:
    url = journal.engine.url.render_as_string(hide_password=False)  # journal.url hides it
    return [
        subprocess.Popen(
            [sys.executable, "-m", "durablec", "worker", "tasks.py:bench", "--db", url,
             "--no-lint", *options],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait()


def _wait(condition: Callable[[], bool], what: str, deadline: float = 600) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"bench/scale.py: gave up waiting for {what}")
        time.sleep(0.02)


def _listening(journal: Journal) -> int:
    with journal.begin() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN durablec_due'"
        )).scalar_one())


def _reset(journal: Journal) -> None:
    with journal.begin() as conn:
        conn.execute(delete(steps).where(steps.c.run_id.startswith(PREFIX)))
        conn.execute(delete(runs).where(runs.c.id.startswith(PREFIX)))


def _insert(journal: Journal, first: int, count: int, steps_per_run: int) -> float:
    codec = Codec.from_env()
    at = now()
    rows = [
        {"id": f"{PREFIX}{n}", "task_id": "scale-bench", "status": "pending", "attempt": 1,
         "args": codec.dumps(((steps_per_run,), {}), f"{PREFIX}{n}/args"), "lease_epoch": 0,
         "created_at": at, "updated_at": at}
        for n in range(first, first + count)
    ]
    with journal.begin() as conn:
        conn.execute(insert(runs), rows)
    return at


def throughput(tmp: Path, journal: Journal, workers: int, args: argparse.Namespace) -> float:
    _reset(journal)
    procs = _workers(tmp, journal, workers, "--concurrency", str(args.concurrency))
    try:
        _wait(lambda: _listening(journal) >= workers, f"{workers} workers to start")
        start = _insert(journal, 0, args.runs, args.steps)

        def finished() -> bool:
            with journal.begin() as conn:
                done = conn.execute(select(func.count()).where(
                    runs.c.id.startswith(PREFIX), runs.c.status == "completed")).scalar_one()
            return int(done) == int(args.runs)

        _wait(finished, f"{args.runs} runs to finish")
        with journal.begin() as conn:
            last = conn.execute(select(func.max(runs.c.finished_at))
                                .where(runs.c.id.startswith(PREFIX))).scalar_one()
    finally:
        _stop(procs)
    return int(args.runs) / (float(last) - start)


def latency(tmp: Path, journal: Journal, samples: int, *options: str) -> list[float]:
    _reset(journal)
    procs = _workers(tmp, journal, 1, *options)
    chooser = random.Random(11)
    seen: list[float] = []
    try:
        if "--no-listen" not in options:
            _wait(lambda: _listening(journal) >= 1, "the worker to LISTEN")
        for n in range(samples + 1):
            time.sleep(chooser.uniform(0.05, 0.5))  # at random moments against the poll
            created = _insert(journal, n, 1, 1)
            run_id = f"{PREFIX}{n}"

            def started() -> bool:
                with journal.begin() as conn:
                    return conn.execute(select(steps.c.started_at).where(
                        steps.c.run_id == run_id)).first() is not None

            _wait(started, f"run {run_id} to start")
            with journal.begin() as conn:
                first = conn.execute(select(func.min(steps.c.started_at))
                                     .where(steps.c.run_id == run_id)).scalar_one()
            if n > 0:  # the first run waited for the worker's start-up: a warm-up, not a sample
                seen.append((float(first) - created) * 1000)
    finally:
        _stop(procs)
    return seen


def _server() -> tuple[PostgresServer, str]:
    bindir = _bindir()
    if bindir is None:
        raise SystemExit("bench/scale.py: PostgreSQL (initdb, pg_ctl) is not installed; "
                         "pass --db URL of a PostgreSQL database instead")
    server = PostgresServer(bindir, fsync=True)  # durable commits, as PostgreSQL ships
    server.start()
    url = server.create_database()
    return server, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs per throughput round")
    parser.add_argument("--steps", type=int, default=3, help="checkpoints per run")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to measure")
    parser.add_argument("--concurrency", type=int, default=8, help="runs per worker at once")
    parser.add_argument("--samples", type=int, default=30, help="latency samples per mode")
    parser.add_argument("--db", default=None, help="an existing PostgreSQL URL to use")
    args = parser.parse_args()

    server: PostgresServer | None = None
    url = args.db
    if url is None:
        server, url = _server()
    tmp = Path(tempfile.mkdtemp(prefix="durablec-scale-"))
    (tmp / "tasks.py").write_text(TASKS)
    journal = Journal(url)
    try:
        with journal.begin() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        print(f"PostgreSQL {version}, {os.cpu_count()} cores, {args.runs} runs of {args.steps} "
              f"steps, --concurrency {args.concurrency}")
        print("\n| worker processes | runs/s | steps/s |\n|---|---|---|")
        for count in (int(n) for n in args.workers.split(",")):
            rate = throughput(tmp, journal, count, args)
            print(f"| {count} | {rate:.0f} | {rate * args.steps:.0f} |", flush=True)
        print("\n| wake-up | median ms | p90 ms | max ms |\n|---|---|---|---|")
        for label, options in (("LISTEN/NOTIFY", ()),
                               ("polling every 0.2 s", ("--no-listen", "--poll", "0.2")),
                               ("polling every 1 s", ("--no-listen", "--poll", "1"))):
            seen = sorted(latency(tmp, journal, args.samples, *options))
            p90 = seen[int(len(seen) * 0.9) - 1]
            print(f"| {label} | {statistics.median(seen):.1f} | {p90:.1f} | {seen[-1]:.1f} |",
                  flush=True)
    finally:
        journal.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
