"""Faults inside the database layer while a run records its steps: a failed commit, a full disk,
a database locked by another process, a connection dropped by PostgreSQL.

In each case the `durablec run` process must stop at the step it could not record (the task never
sees the failure, no later step starts), exit 3 naming the cause, and the run resumes from that
step once the fault is gone, with nothing journaled before the fault lost or duplicated.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import durablec
import pytest
from sqlalchemy import create_engine, text

from .faulty import (
    assert_resumed, assert_stopped_at, lines, setup, start, started, trigger, wait_for,
)

LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
conn.execute("ROLLBACK")
"""


def journal_rows(url: str) -> list[tuple[Any, ...]]:
    """Every step row of run R, in recording order."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(
                "SELECT id, key, attempt, outcome, final, result FROM durablec_steps "
                "WHERE run_id = 'R' ORDER BY id"))]
    finally:
        engine.dispose()


def stopped(proc: subprocess.Popen[str]) -> str:
    """Wait for the faulted process; it must exit 3 (the run stopped, resumable) and say why."""
    out, err = proc.communicate()
    assert proc.returncode == 3, (proc.returncode, out, err)
    assert "could not record" in err and "durablec run" in err, err
    return err


def resume_and_check(tmp: Path, db: str, before: list[tuple[Any, ...]], lost: int) -> None:
    """Resume without the fault: exact result, step ``lost`` ran once more, and the rows before
    the fault are still there, unchanged, with one final row per step after it."""
    proc = start(tmp, db)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert_resumed(tmp, out, Counter(range(6)) + Counter([lost]))
    after = journal_rows(db)
    assert after[: len(before)] == before
    assert sorted(row[1] for row in after if row[4]) == [str(index) for index in range(6)]


def test_failed_commit_stops_the_run_at_that_step(tmp_path: Path) -> None:
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    proc = start(tmp_path, db, inject=True, FAIL_COMMIT="3")  # the commit of step 2 fails
    stopped(proc)
    assert_stopped_at(tmp_path, proc.pid, 2)
    before = journal_rows(db)
    assert [row[1] for row in before] == ["0", "1"]
    resume_and_check(tmp_path, db, before, lost=2)


def test_disk_full_stops_the_run_at_that_step(tmp_path: Path) -> None:
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    durablec.Client(db).journal.close()  # the schema, before the size limit
    # Room for the small steps 0 to 2, not for the 100 kB result of step 3 (SQLITE_FULL).
    proc = start(tmp_path, db, inject=True, MAX_EXTRA_PAGES="6")
    stopped(proc)
    assert_stopped_at(tmp_path, proc.pid, 3)
    before = journal_rows(db)
    assert [row[1] for row in before] == ["0", "1", "2"]
    resume_and_check(tmp_path, db, before, lost=3)


def test_database_locked_by_another_process_stops_the_run(tmp_path: Path) -> None:
    setup(tmp_path)
    path = tmp_path / "j.db"
    db = f"sqlite:///{path}"
    proc = start(tmp_path, db, HOLD_AT="2", DURABLEC_SQLITE_BUSY_TIMEOUT="0.2")
    wait_for(proc, lambda: started(tmp_path, 2, proc.pid), "step 2")
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
        (tmp_path / "go").touch()
        err = stopped(proc)
        assert "locked" in err
        assert_stopped_at(tmp_path, proc.pid, 2)
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        assert locker.wait() == 0
    before = journal_rows(db)
    assert [row[1] for row in before] == ["0", "1"]
    resume_and_check(tmp_path, db, before, lost=2)


def test_connection_dropped_by_postgresql_stops_the_run(tmp_path: Path, postgres_url: str) -> None:
    import psycopg

    setup(tmp_path)
    proc = start(tmp_path, postgres_url, HOLD_AT="2")
    wait_for(proc, lambda: started(tmp_path, 2, proc.pid), "step 2")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
    assert dropped is not None and dropped[0] >= 1
    (tmp_path / "go").touch()
    stopped(proc)
    assert_stopped_at(tmp_path, proc.pid, 2)
    before = journal_rows(postgres_url)
    assert [row[1] for row in before] == ["0", "1"]
    resume_and_check(tmp_path, postgres_url, before, lost=2)


def test_sqlite_busy_timeout_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from durablec.errors import JournalError

    monkeypatch.setenv("DURABLEC_SQLITE_BUSY_TIMEOUT", "0.25")
    client = durablec.Client(f"sqlite:///{tmp_path / 'a.db'}")
    with client.journal.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    client.journal.close()
    monkeypatch.setenv("DURABLEC_SQLITE_BUSY_TIMEOUT", "soon")
    with pytest.raises(JournalError, match="DURABLEC_SQLITE_BUSY_TIMEOUT='soon' is not a number"):
        durablec.Client(f"sqlite:///{tmp_path / 'b.db'}")


def test_worker_runs_again_a_step_it_could_not_record(tmp_path: Path) -> None:
    """In a worker, the run whose step could not be recorded is due again at once: the worker
    resumes it and runs that step again, and the task never saw the failure."""
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    run_id = trigger(tmp_path, db)
    proc = subprocess.run(
        [sys.executable, "inject.py", "worker", "tasks.py:flow", "--no-lint", "--poll", "0.05",
         "--until-idle"], cwd=tmp_path, capture_output=True, text=True,
        env=dict(os.environ, DURABLEC_DATABASE_URL=db, FAULT_LOG=str(tmp_path / "log"),
                 FAIL_COMMIT="3"))
    assert proc.returncode == 0, proc.stderr
    assert f"run {run_id} running" in proc.stderr and f"run {run_id} completed" in proc.stderr
    result = asyncio.run(durablec.Client(db).handle(run_id).result())
    assert_resumed(tmp_path, json.dumps(result), Counter(range(6)) + Counter([2]))
    assert len({pid for _, pid in lines(tmp_path)}) == 1  # one worker did it all
