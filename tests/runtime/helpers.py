"""Helpers shared by runtime tests."""

from __future__ import annotations

import signal
import subprocess
import time
import types
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import delete, update

from durablec.runtime.store import Journal
from durablec.runtime.store.schema import runs, steps

Loader = Callable[[str], types.ModuleType]
"""The ``load`` fixture: compiles task source text and imports it as a fresh module."""


def rewind(db_url: str, run_id: str, keep: int) -> None:
    """Leave the journal as a crash after the run's first ``keep`` step rows would have left it."""
    journal = Journal(db_url)
    with journal.begin() as conn:
        ids = [row.id for row in conn.execute(
            steps.select().where(steps.c.run_id == run_id).order_by(steps.c.id))]
        conn.execute(delete(steps).where(steps.c.id.in_(ids[keep:])))
        conn.execute(update(runs).where(runs.c.id == run_id).values(
            status="running", result=None, result_repr=None, finished_at=None, lease_owner=None,
            lease_expires_at=None, lease_pid=None, lease_host=None))
    journal.close()


def step_rows(db_url: str, run_id: str) -> list[tuple[str, str, int, str, bool]]:
    """(key, callee, attempt, outcome, final) of every recorded attempt, in order."""
    journal = Journal(db_url)
    with journal.begin() as conn:
        rows = [(r.key, r.callee, r.attempt, r.outcome, r.final) for r in conn.execute(
            steps.select().where(steps.c.run_id == run_id).order_by(steps.c.id))]
    journal.close()
    return rows


def finals_per_attempt_scope(db_url: str, run_id: str) -> None:
    """At most one final row per key between two rows that retried an enclosing scope."""
    seen: Counter[str] = Counter()
    for key, _callee, _attempt, outcome, final in step_rows(db_url, run_id):
        if outcome == "error" and (not final or key == ""):
            seen.clear()  # a scope retry (or the body's failure) starts a new attempt scope
        elif final:
            seen[key] += 1
            assert seen[key] == 1, f"two final rows for step {key} in one attempt scope"


def force_due(db_url: str, run_id: str) -> None:
    """Make a sleeping run due now, as if its sleep had passed (no test waits an hour)."""
    from sqlalchemy import select

    from durablec.runtime.serde import Codec

    journal = Journal(db_url)
    with journal.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(wake_at=0.0))
        for key in conn.execute(select(steps.c.key).where(
                steps.c.run_id == run_id, steps.c.callee == "durablec.sleep.wake_at")).scalars():
            conn.execute(update(steps).where(steps.c.run_id == run_id, steps.c.key == key).values(
                result=Codec.from_env().dumps(0.0, f"{run_id}/{key}")))
    journal.close()


def kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds (polled; never a timing assumption), failing
    the test if the process ends before reaching ``what``."""
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended before {what}: {out}\n{err}")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
