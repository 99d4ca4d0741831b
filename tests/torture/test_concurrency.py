"""Concurrency faults on SQLite: two executors resuming one run at once, and an executor paused
(SIGSTOP) past its lease, continued (SIGCONT) after another took the run over: it must neither
write nor go on executing the run (fencing). PostgreSQL workers paused past their lease are
covered by the worker-claiming tests.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from .faulty import EXPECTED, lines, setup, start, started, trigger, wait_for, worker

LEASE = "2"
"""Short, so that a takeover of a paused holder's run comes soon (renewed every 2/3 s)."""
ALL_STEPS = [f"{event} {index}" for index in range(6) for event in ("start", "end")]


def journal(db: str) -> list[list[tuple[Any, ...]]]:
    """Every column of every step and run row: what a fenced executor must leave alone."""
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return [[tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
                    for table in ("durablec_steps", "durablec_runs")]
    finally:
        engine.dispose()


def statuses(db: str) -> list[str]:
    return [row[2] for row in journal(db)[1]]


def starts_by(tmp: Path) -> dict[int, list[str]]:
    """The log's lines per process, in order."""
    found: dict[int, list[str]] = {}
    for event, pid in lines(tmp):
        found.setdefault(pid, []).append(event)
    return found


def test_two_durablec_runs_of_one_run_id_execute_it_once(tmp_path: Path) -> None:
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    procs = [start(tmp_path, db, stderr=tmp_path / f"err{i}", HOLD_AT="1") for i in range(2)]
    # Whichever took the lease holds step 1 until the other has found the lease taken.
    wait_for(procs[0], lambda: any(started(tmp_path, 1, p.pid) for p in procs), "step 1")
    executor = next(i for i, p in enumerate(procs) if started(tmp_path, 1, p.pid))
    waiter = 1 - executor
    wait_for(procs[waiter], lambda: "waiting for it" in (tmp_path / f"err{waiter}").read_text(),
             "the second one waiting for the lease")
    (tmp_path / "go").touch()
    outs = [proc.communicate()[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [
        (tmp_path / f"err{i}").read_text() for i in range(2)]
    assert [json.loads(out) for out in outs] == [EXPECTED, EXPECTED]
    # The waiter ran nothing: it found the run completed and printed the stored result.
    assert starts_by(tmp_path) == {procs[executor].pid: ALL_STEPS}
    assert statuses(db) == ["completed"]


def test_two_processes_opening_a_new_journal_at_once(tmp_path: Path) -> None:
    """Of two processes that both found the journal empty, the second waits while the first
    creates the tables (holding the schema lock), then uses them: nothing is created twice and
    the run executes once."""
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    creator = start(tmp_path, db, inject=True, HOLD_SCHEMA="1")
    wait_for(creator, lambda: (tmp_path / "schema-held").exists(), "creating the tables")
    second = start(tmp_path, db, inject=True, MARK_SCHEMA_LOCK="1")
    wait_for(second, lambda: (tmp_path / "schema-locking").exists(), "asking for the lock")
    (tmp_path / "schema-go").touch()
    for proc in (creator, second):
        out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert json.loads(out) == EXPECTED
    executors = starts_by(tmp_path)
    assert list(executors.values()) == [ALL_STEPS], executors
    assert statuses(db) == ["completed"]


def test_two_workers_execute_a_run_once(tmp_path: Path) -> None:
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    workers = [worker(tmp_path, db, tmp_path / f"err{i}", HOLD_AT="1") for i in range(2)]
    try:
        for index, proc in enumerate(workers):
            wait_for(proc, lambda: "serving" in (tmp_path / f"err{index}").read_text(), "serving")
        trigger(tmp_path, db)
        wait_for(workers[0], lambda: any(started(tmp_path, 1, p.pid) for p in workers), "step 1")
        (tmp_path / "go").touch()
        wait_for(workers[0], lambda: statuses(db) == ["completed"], "the run completing")
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGINT)
            proc.wait()
    (pid,) = starts_by(tmp_path)
    assert pid in {p.pid for p in workers}
    assert Counter(event for event, _ in lines(tmp_path)) == Counter(ALL_STEPS)
    for index in range(2):
        assert "Traceback" not in (tmp_path / f"err{index}").read_text()


def assert_fenced_steps(tmp_path: Path, paused: int, other: int) -> None:
    """The paused executor's step in flight ended, or was cancelled when its heartbeat found the
    lease lost, and it started no other step; the new one replayed steps 0 and 1, ran the rest."""
    by = starts_by(tmp_path)
    assert set(by) == {paused, other}, by
    assert by[paused] in (ALL_STEPS[:5], ALL_STEPS[:6]), by
    assert by[other] == ALL_STEPS[4:], by


def test_durablec_run_paused_past_its_lease_is_fenced(tmp_path: Path) -> None:
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    paused = start(tmp_path, db, HOLD_AT="2", DURABLEC_LEASE_SECONDS=LEASE)
    wait_for(paused, lambda: started(tmp_path, 2, paused.pid), "step 2")
    paused.send_signal(signal.SIGSTOP)
    try:
        other = start(tmp_path, db, stderr=tmp_path / "err", DURABLEC_LEASE_SECONDS=LEASE)
        out, _ = other.communicate()
        assert other.returncode == 0, (tmp_path / "err").read_text()
        assert json.loads(out) == EXPECTED
        settled = journal(db)
        (tmp_path / "go").touch()
    finally:
        paused.send_signal(signal.SIGCONT)
    _, err = paused.communicate()
    assert paused.returncode == 3 and "lost to another worker" in err, err
    assert journal(db) == settled  # the paused executor wrote nothing
    assert_fenced_steps(tmp_path, paused.pid, other.pid)
    assert statuses(db) == ["completed"]


def test_worker_paused_past_its_lease_is_fenced(tmp_path: Path) -> None:
    setup(tmp_path)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    run_id = trigger(tmp_path, db)
    paused = worker(tmp_path, db, tmp_path / "err-paused", until_idle=True, HOLD_AT="2",
                    DURABLEC_LEASE_SECONDS=LEASE)
    wait_for(paused, lambda: started(tmp_path, 2, paused.pid), "step 2")
    paused.send_signal(signal.SIGSTOP)
    try:
        other = worker(tmp_path, db, tmp_path / "err-other", DURABLEC_LEASE_SECONDS=LEASE)
        try:
            wait_for(other, lambda: statuses(db) == ["completed"], "the takeover completing it")
        finally:
            other.send_signal(signal.SIGINT)
            other.wait()
        settled = journal(db)
        (tmp_path / "go").touch()
    finally:
        paused.send_signal(signal.SIGCONT)
    # It exits once idle: its execution of the run ended at the fence, and it took nothing else.
    assert paused.wait() == 0
    said = (tmp_path / "err-paused").read_text()
    assert f"run {run_id} running" in said and "Traceback" not in said, said
    assert journal(db) == settled
    assert_fenced_steps(tmp_path, paused.pid, other.pid)
