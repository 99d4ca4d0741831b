"""Running a task of this directory in a real ``durablec run`` process, killing it, resuming it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from helpers import finals_per_attempt_scope, kill_when

HERE = Path(__file__).resolve().parent

Load = Callable[[str], types.ModuleType]
"""The ``load_tasks`` fixture: compiles ``tests/libraries/<name>.py`` and imports it fresh."""
HANG = 120
"""Seconds a resumed run may take before the test calls it hung (generous: it needs about one)."""


class Run:
    """One run id of one task, executed by successive ``durablec run`` processes in ``tmp``."""

    def __init__(self, tmp: Path, module: str, task: str, args: list[Any]) -> None:
        shutil.copy(HERE / f"{module}.py", tmp / f"{module}.py")
        self.tmp = tmp
        self.db = f"sqlite:///{tmp / 'journal.db'}"
        self.command = [sys.executable, "-m", "durablec", "run", f"{module}.py:{task}",
                        "--args", json.dumps(args), "--run-id", "R", "--db", self.db]

    def start(self) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command, cwd=self.tmp, env=dict(os.environ),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def kill_when(self, ready: Callable[[], bool], what: str) -> None:
        """Start a process and SIGKILL it as soon as ``ready()`` holds."""
        kill_when(self.start(), ready, what)

    def finish(self) -> Any:
        """Run to the end: it must exit 0 on its own (no thread left hanging) with the result."""
        proc = self.start()
        try:
            out, err = proc.communicate(timeout=HANG)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"`durablec run` did not exit within {HANG} s:\n{err}") from None
        assert proc.returncode == 0, err
        finals_per_attempt_scope(self.db, "R")
        return json.loads(out)

    def rows(self, where: str = "1") -> int:
        """How many step rows the journal holds now (``where``: an SQL condition on them)."""
        path = self.tmp / "journal.db"
        if not path.exists():
            return 0
        try:
            with sqlite3.connect(path, timeout=5) as conn:
                count: int = conn.execute(
                    f"SELECT count(*) FROM durablec_steps WHERE {where}").fetchone()[0]
        except sqlite3.OperationalError:  # the table is not created yet
            return 0
        return count


@contextmanager
def blocking_insert(dsn: str, key: str) -> Iterator[psycopg.Connection]:
    """An open transaction that inserted ``key``: an INSERT of the same key waits for it."""
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO orders (key, item) VALUES (%s, 'blocker')", (key,))
        try:
            yield conn
        finally:
            conn.rollback()


def waiting_on_lock(dsn: str) -> bool:
    """Whether a session of the database waits for a lock (the task's INSERT, blocked)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'").fetchone()
    return row is not None and row[0] > 0
