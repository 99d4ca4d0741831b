"""Claims on a real SQLite file and a real PostgreSQL: one run to one worker, limits across workers."""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import update

from durablec import Queue
from durablec.errors import UsageError
from durablec.runtime.claim import Claimer
from durablec.runtime.store import Journal, now
from durablec.runtime.store.schema import runs
from durablec.runtime.lease import Owner
from durablec.runtime.creation import create_run
from durablec.runtime.task import Task


async def _noop(*args: object) -> None:
    return None


def _claim_concurrently(
    journal: Journal, tasks: list[Task[Any, Any]], workers: int, per_claim: int, rounds: int
) -> list[list[tuple[Any, int]]]:
    """``workers`` threads, each its own owner, claiming ``rounds`` times at the same moment."""
    start = threading.Barrier(workers)
    claims: list[list[tuple[Any, int]]] = [[] for _ in range(workers)]

    def worker(index: int) -> None:
        claimer = Claimer(journal, Owner.here(), tasks)
        start.wait()
        for _ in range(rounds):
            claims[index] += claimer.claim(per_claim)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return claims


def test_concurrent_claims_never_share_a_run(db_url: str) -> None:
    journal = Journal(db_url)
    task = Task(_noop, id="plain")
    made = {create_run(journal, task, (i,), {})[0] for i in range(120)}
    claims = _claim_concurrently(journal, [task], workers=6, per_claim=5, rounds=8)
    taken = Counter(row.id for claim in claims for row, _ in claim)
    assert set(taken) == made  # 6 x 8 x 5 = 240 slots for 120 runs: all claimed ...
    assert max(taken.values()) == 1  # ... each by one worker only
    assert all(epoch == 1 for claim in claims for _, epoch in claim)
    with journal.begin() as conn:
        owners = {row.id: row.lease_owner for row in conn.execute(runs.select())}
    assert len(set(owners.values())) > 1  # the work was really spread over several workers


def test_queue_limits_hold_across_workers(db_url: str) -> None:
    journal = Journal(db_url)
    queue = Queue("reports", concurrency=3, per_key=1)
    reports = Task(_noop, id="report", queue=queue, concurrency_key=lambda tenant, n: tenant)
    audits = Task(_noop, id="audit", queue=queue)  # shares the queue and its limits
    for n in range(4):
        create_run(journal, reports, ("acme", n), {})
        create_run(journal, reports, ("zeta", n), {})
    create_run(journal, audits, (), {}, concurrency_key="acme")
    create_run(journal, audits, (), {}, concurrency_key="bolt")
    create_run(journal, audits, (), {}, concurrency_key="cove")
    claims = _claim_concurrently(journal, [reports, audits], workers=4, per_claim=10, rounds=3)
    taken = [row for claim in claims for row, _ in claim]
    keys = [row.concurrency_key for row in taken]
    assert len(taken) == 3 and len(set(keys)) == 3, keys  # the queue's 3, one per tenant
    # One ends: exactly one more run starts, and not one of a tenant still running.
    with journal.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == taken[0].id).values(status="completed"))
    more = Claimer(journal, Owner.here(), [reports, audits]).claim(10)
    assert len(more) == 1
    assert more[0][0].concurrency_key not in set(keys) - {taken[0].concurrency_key}


def test_concurrency_shorthand_and_per_key_without_total(db_url: str) -> None:
    journal = Journal(db_url)
    single = Task(_noop, id="single", concurrency=1)
    keyed = Task(_noop, id="keyed", queue=Queue("keyed", per_key=2),
                 concurrency_key=lambda key: key)
    for n in range(3):
        create_run(journal, single, (n,), {})
        for key in "ab":
            create_run(journal, keyed, (key,), {})
    claims = _claim_concurrently(journal, [single, keyed], workers=3, per_claim=10, rounds=2)
    taken = Counter(row.concurrency_key or row.task_id for claim in claims for row, _ in claim)
    assert taken == Counter({"single": 1, "a": 2, "b": 2})


def test_conflicting_queue_declarations_are_refused(sqlite_journal: Journal) -> None:
    one = Task(_noop, id="one", queue=Queue("q", concurrency=1))
    two = Task(_noop, id="two", queue=Queue("q", concurrency=2))
    with pytest.raises(UsageError, match="declared twice"):
        Claimer(sqlite_journal, Owner.here(), [one, two])
    with pytest.raises(UsageError, match="not both"):
        Task(_noop, id="three", queue="q", concurrency=2)
    with pytest.raises(UsageError, match="positive number"):
        Queue("q", concurrency=0)


def test_runs_of_dead_local_holders_are_taken_over_at_once(db_url: str) -> None:
    journal = Journal(db_url)
    task = Task(_noop, id="held")
    dead_id, _ = create_run(journal, task, (), {})
    live_id, _ = create_run(journal, task, (), {})
    host = Owner.here().host
    gone = subprocess.Popen(["true"])
    gone.wait()
    alive = subprocess.Popen(["sleep", "600"])
    try:
        with journal.begin() as conn:
            for run_id, pid in ((dead_id, gone.pid), (live_id, alive.pid)):
                conn.execute(update(runs).where(runs.c.id == run_id).values(
                    status="running", lease_owner=f"{host}:{pid}:x", lease_host=host,
                    lease_pid=pid, lease_expires_at=now() + 600, lease_epoch=4))
        claimed = Claimer(journal, Owner.here(), [task]).claim(10)
    finally:
        alive.kill()
        alive.wait()
    assert [(row.id, epoch) for row, epoch in claimed] == [(dead_id, 5)]


def test_a_run_started_in_process_is_not_claimed_by_workers(db_url: str) -> None:
    journal = Journal(db_url)
    task = Task(_noop, id="inline")
    me = Owner.here()
    run_id, _ = create_run(journal, task, (), {}, holder=me)  # as `durablec run` does
    assert Claimer(journal, Owner.here(), [task]).claim(5) == []
    row = journal_row(journal, run_id)
    assert (row.status, row.lease_owner, row.lease_epoch) == ("running", me.id, 0)


def journal_row(journal: Journal, run_id: str) -> Any:
    with journal.begin() as conn:
        return conn.execute(runs.select().where(runs.c.id == run_id)).one()


def test_sleeping_runs_are_claimed_when_due(db_url: str) -> None:
    journal = Journal(db_url)
    task = Task(_noop, id="nap")
    run_id, _ = create_run(journal, task, (), {})
    with journal.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            status="sleeping", wake_at=now() + 3600))
    claimer = Claimer(journal, Owner.here(), [task])
    assert claimer.claim(5) == []
    with journal.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(wake_at=now() - 1))
    assert [row.id for row, _ in claimer.claim(5)] == [run_id]


@pytest.fixture
def sqlite_journal(tmp_path: Any) -> Journal:
    return Journal(f"sqlite:///{tmp_path / 'journal.db'}")
