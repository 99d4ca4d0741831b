"""`durablec trigger --concurrency-key` and a task's queue land on the run row, as a real CLI run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scale_support import run_rows

TASKS = """
import durablec

reports = durablec.Queue("reports", concurrency=2, per_key=1)

@durablec.task(id="report", queue=reports, concurrency_key=lambda tenant, day: tenant)
async def report(tenant, day):
    return tenant + day
"""


def _trigger(tmp: Path, db: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "durablec", "trigger", "tasks.py:report", "--db", db, *args],
        cwd=tmp, env=dict(os.environ), capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_trigger_sets_queue_and_key(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(TASKS)
    db = f"sqlite:///{tmp_path / 'j.db'}"
    computed = _trigger(tmp_path, db, "--args", '["acme", "mon"]')
    given = _trigger(tmp_path, db, "--args", '["acme", "tue"]', "--concurrency-key", "zeta")
    rows = run_rows(db)
    assert (rows[computed].queue, rows[computed].concurrency_key) == ("reports", "acme")
    assert (rows[given].queue, rows[given].concurrency_key) == ("reports", "zeta")
