"""Helpers for scale-out tests: worker processes, waiting on conditions, reading the journal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from durablec.runtime.store import Journal
from durablec.runtime.store.schema import runs, steps

DEADLINE = 180.0
"""Generous: a wait fails only when something is truly stuck, never because a machine is slow."""


def wait_for(ready: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``ready`` until it holds; fail the test naming ``what`` if it never does."""
    end = time.monotonic() + deadline
    while not ready():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what} after {deadline:g} s")
        time.sleep(0.05)


class Worker:
    """A `durablec worker` process whose stderr goes to a file that the test can read."""

    def __init__(self, tmp: Path, db: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = tmp / f"worker-{time.monotonic_ns()}.err"
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durablec", "worker", *args, "--db", db, "--no-lint"],
            cwd=tmp, env=dict(os.environ, **(env or {})), stdout=subprocess.DEVNULL,
            stderr=self._err, text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr(self) -> str:
        return self.log.read_text()

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL and reap, so the process is gone (not a zombie) for lease takeover."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._err.close()

    def wait(self, what: str) -> int:
        wait_for(lambda: self.proc.poll() is not None, what)
        self._err.close()
        return self.proc.returncode


def run_rows(db: str) -> dict[str, Any]:
    journal = Journal(db)
    try:
        with journal.begin() as conn:
            return {row.id: row for row in conn.execute(select(runs))}
    finally:
        journal.close()


def step_rows(db: str, run_id: str | None = None) -> list[Any]:
    journal = Journal(db)
    try:
        query = select(steps).order_by(steps.c.id)
        if run_id is not None:
            query = query.where(steps.c.run_id == run_id)
        with journal.begin() as conn:
            return list(conn.execute(query))
    finally:
        journal.close()
