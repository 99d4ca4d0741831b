"""aiosqlite, as its documentation shows it, on a real SQLite file.

A kill lands "after a write, before its commit" without any timing guess: the test holds a
read transaction on the data file, so the task's ``commit()`` waits for it (SQLite's busy
timeout) while the task already holds the write lock; the test kills the process then.
"""

from __future__ import annotations

import sqlite3
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import durablec

from helpers import finals_per_attempt_scope, step_rows
from librun import Load, Run


@pytest.fixture
def tasks(load_tasks: Load) -> types.ModuleType:
    return load_tasks("aiosqlite_tasks")


def _create(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (key TEXT PRIMARY KEY, item TEXT)")


@contextmanager
def _readers_block_commits(path: Path) -> Iterator[None]:
    """Hold a read transaction on ``path``: a writer can write but not commit until it ends."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM orders").fetchone()
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _writing(path: Path) -> bool:
    """Whether another connection holds the write lock of ``path`` (wrote, not yet committed)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()
    return False


def test_async_with_connect_execute_commit_and_cursor(
    tasks: types.ModuleType, sqlite_url: str, tmp_path: Path
) -> None:
    """Case 1 for aiosqlite. Before a74e027 `async with aiosqlite.connect(...)` paused the run
    ("cannot be journaled") and left aiosqlite's thread running, so the process never exited."""
    data = tmp_path / "data.db"
    expected = {"ids": [1, 2], "rows": [["o1/2", "a"], ["o1/4", "b"]]}
    assert durablec.run(tasks.orders, str(data), ["a", "b"], db=sqlite_url, run_id="o1") == expected
    rows = step_rows(sqlite_url, "o1")
    assert rows[0][0] == "0<" and rows[0][3] == "live"
    # Replayed whole: the cursors come back as stand-ins with their recorded lastrowid.
    assert durablec.run(tasks.orders, str(data), ["a", "b"], db=sqlite_url, run_id="o1") == expected
    assert durablec.run(tasks.count, str(data), db=sqlite_url, run_id="c1") == 2
    finals_per_attempt_scope(sqlite_url, "o1")


@pytest.mark.parametrize("task", ["orders", "count"])
def test_the_process_exits(tmp_path: Path, task: str) -> None:
    """`async with aiosqlite.connect(...)` (orders) and `db = await aiosqlite.connect(...)` ...
    `await db.close()` (count) in a `durablec run` process, run and then replayed by a second
    process: each exits by itself, aiosqlite's thread ended (before a74e027 `durablec run` of
    the `async with` form never exited)."""
    data = tmp_path / "data.db"
    _create(data)
    args: list[object] = [str(data), ["a"]] if task == "orders" else [str(data)]
    run = Run(tmp_path, "aiosqlite_tasks", task, args)
    expected = {"ids": [1], "rows": [["R/2", "a"]]} if task == "orders" else 0
    assert run.finish() == expected
    assert run.finish() == expected


@pytest.mark.parametrize("task", ["orders_in_steps", "orders"])
def test_sigkill_after_a_write_before_its_commit(tmp_path: Path, task: str) -> None:
    """Kill while an INSERT waits for its commit (natural code: the first order's INSERT
    journaled; a step: its first order twice, in flight), then resume to the end: every
    order is there once. In the natural code the resume replays the journaled INSERT, which the
    killed process never committed: it runs again before the live commit (transactions.py)."""
    data = tmp_path / "data.db"
    _create(data)
    run = Run(tmp_path, "aiosqlite_tasks", task, [str(data), ["a", "b"]])
    # Steps: 0< connect, 1 create, then per order the INSERT and the commit (or one step).
    # The natural code is killed once: its resume commits for real (the redone INSERT), which a
    # reader held for a second kill would block.
    journaled = {"orders": ["2"], "orders_in_steps": [None, None]}[task]
    for key in journaled:
        with _readers_block_commits(data):
            run.kill_when(lambda: _writing(data) and (key is None or run.rows(f"key = '{key}'") > 0),
                          f"an INSERT waiting for its commit (step {key})")
    result = run.finish()
    rows = result["rows"] if task == "orders" else result
    assert [item for _, item in rows] == ["a", "b"]
    with sqlite3.connect(data) as conn:
        assert conn.execute("SELECT item FROM orders ORDER BY rowid").fetchall() == [("a",), ("b",)]
