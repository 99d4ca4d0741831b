"""SQLAlchemy's asyncio ORM (AsyncSession over asyncpg) against the test PostgreSQL, as its
documentation shows it. Kills land while a flush waits: the test holds an open transaction that
inserted the same primary key (test_asyncpg.py)."""

from __future__ import annotations

import types
from pathlib import Path

import psycopg
import pytest

import durablec

from helpers import finals_per_attempt_scope, step_rows
from librun import Load, Run, blocking_insert, waiting_on_lock


@pytest.fixture
def url(pg_url: str) -> str:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (key varchar PRIMARY KEY, item varchar NOT NULL)")
    return pg_url.replace("postgresql://", "postgresql+asyncpg://")


@pytest.fixture
def tasks(load_tasks: Load) -> types.ModuleType:
    return load_tasks("sqlalchemy_tasks")


def test_session_add_commit_execute_dispose(
    tasks: types.ModuleType, url: str, sqlite_url: str
) -> None:
    """Engine, connection and sessions are live resources; `session.execute(select(...))` is data
    (its rows frozen), and `result.scalars().all()` reads them on replay too."""
    expected = [["o1/3", "a"], ["o1/4", "b"]]
    assert durablec.run(tasks.orders, url, ["a", "b"], db=sqlite_url, run_id="o1") == expected
    assert durablec.run(tasks.orders, url, ["a", "b"], db=sqlite_url, run_id="o1") == expected
    rows = {key: outcome for key, _, _, outcome, _ in step_rows(sqlite_url, "o1")}
    assert rows["0<"] == rows["2<"] == rows["5<"] == "live"
    finals_per_attempt_scope(sqlite_url, "o1")


def test_sigkill_while_flushing_and_resume(tmp_path: Path, url: str) -> None:
    """Kill while the first commit's flush waits, resume and kill while the second one waits
    (the first commit journaled), resume to the end: each order once."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    run = Run(tmp_path, "sqlalchemy_tasks", "orders", [url, ["a", "b"]])
    for key, journaled in (("R/3", None), ("R/4", "3")):
        with blocking_insert(dsn, key):
            run.kill_when(lambda: waiting_on_lock(dsn) and (
                journaled is None or run.rows(f"key = '{journaled}'") > 0), f"the flush of {key}")
    assert run.finish() == [["R/3", "a"], ["R/4", "b"]]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT key, item FROM orders ORDER BY key").fetchall() == [
            ("R/3", "a"), ("R/4", "b")]


def test_sigkill_between_statements_of_a_session_transaction(tmp_path: Path, url: str) -> None:
    """The first INSERT was journaled but its transaction never committed: the resume runs it
    again before the second, live one (transactions.py), and the commit keeps both."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    run = Run(tmp_path, "sqlalchemy_tasks", "core_transfer", [url, "t"])
    with blocking_insert(dsn, "t/credit"):
        run.kill_when(lambda: waiting_on_lock(dsn) and bool(run.rows("key = '1'")),
                      "the second INSERT waiting, the first journaled")
    assert run.finish() == ["credit", "debit"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT key FROM orders ORDER BY key").fetchall() == [
            ("t/credit",), ("t/debit",)]


def test_statements_are_compared_by_their_sql_and_values() -> None:
    """Replay compares a step's arguments with the recorded ones: an SQLAlchemy statement built
    again in another execution must compare equal (its caches and counters differ), and one
    with other values must not."""
    from sqlalchemy import insert

    from durablec.runtime.serde import canonical_digest
    from sqlalchemy_tasks import Order

    def statement(item: str) -> object:
        return insert(Order).values(key="k", item=item)

    first = statement("a")
    first.compile()  # caches filled in one, not the other
    assert canonical_digest((first,), {}) == canonical_digest((statement("a"),), {})
    assert canonical_digest((first,), {}) != canonical_digest((statement("b"),), {})
