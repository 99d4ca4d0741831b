"""asyncpg, as its documentation shows it, against the test PostgreSQL (tests/pg.py).

A kill lands while an INSERT is in flight without any timing guess: the test holds an open
transaction that inserted the same key, so the task's ``INSERT ... ON CONFLICT`` waits for it;
the test kills the process then, and rolls back (the dead client's statement may still commit:
the effect happened, its response was lost, the case idempotency keys exist for).
"""

from __future__ import annotations

import types
from pathlib import Path

import psycopg
import pytest

import durablec

from helpers import finals_per_attempt_scope, step_rows
from librun import Load, Run, blocking_insert, waiting_on_lock


def _expected(run_id: str) -> dict[str, object]:
    return {"rows": [{"key": f"{run_id}/2", "item": "a"}, {"key": f"{run_id}/3", "item": "b"}],
            "first": "a", "first_key": f"{run_id}/2", "count": 2}


@pytest.fixture
def dsn(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (key text PRIMARY KEY, item text)")
    return pg_url


@pytest.fixture
def tasks(load_tasks: Load) -> types.ModuleType:
    return load_tasks("asyncpg_tasks")


def test_connect_execute_fetch_pool_close(tasks: types.ModuleType, dsn: str, sqlite_url: str) -> None:
    """The connection and the pool are live resources; the rows of `fetch` (asyncpg Records, which
    do not pickle) are journaled as data and replayed as rows that read the same."""
    assert durablec.run(tasks.orders, dsn, ["a", "b"], db=sqlite_url, run_id="o1") == _expected("o1")
    rows = {key: outcome for key, _, _, outcome, _ in step_rows(sqlite_url, "o1")}
    assert rows["0"] == rows["7"] == rows["8<"] == "live"  # connect, create_pool, acquire
    assert "6" not in rows and "10" not in rows  # the closes run live, unrecorded
    assert rows["4"] == rows["5"] == "ok"  # fetch, fetchrow: data
    # A finished run replays whole, Records included.
    assert durablec.run(tasks.orders, dsn, ["a", "b"], db=sqlite_url, run_id="o1") == _expected("o1")
    finals_per_attempt_scope(sqlite_url, "o1")


def test_sigkill_while_inserting_and_resume(tmp_path: Path, dsn: str) -> None:
    """Kill during the first INSERT, resume and kill during the second, resume to the end."""
    run = Run(tmp_path, "asyncpg_tasks", "orders", [dsn, ["a", "b"]])
    for key in ("R/2", "R/3"):
        with blocking_insert(dsn, key):
            run.kill_when(lambda: waiting_on_lock(dsn), f"the INSERT of {key} waiting")
    assert run.finish() == _expected("R")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT key, item FROM orders ORDER BY key").fetchall() == [
            ("R/2", "a"), ("R/3", "b")]


def test_sigkill_inside_a_transaction_keeps_both_statements(tmp_path: Path, dsn: str) -> None:
    """Killed while the second INSERT of a transaction waits: the first was journaled but never
    committed. The resume replays it, then runs it again before the next live statement, and the
    block's exit commits both (transactions.py); the exit is journaled as the commit."""
    run = Run(tmp_path, "asyncpg_tasks", "transfer", [dsn, "t"])
    with blocking_insert(dsn, "t/credit"):
        run.kill_when(lambda: waiting_on_lock(dsn) and bool(run.rows("key = '2'")),
                      "the second INSERT waiting, the first journaled")
    assert run.finish() == ["credit", "debit"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT key FROM orders ORDER BY key").fetchall() == [
            ("t/credit",), ("t/debit",)]
    rows = {key: outcome for key, _, _, outcome, final in step_rows(run.db, "R") if final}
    assert rows["1<"] == "live" and rows["1>"] == "ok"  # the block: entered live, commit journaled
