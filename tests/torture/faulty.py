"""Shared by the database-fault and concurrency tests: a task whose steps log what really ran,
and `durablec` processes to run it, optionally with a fault injected into their database layer.

The task catches every exception its steps raise, as task code may: a journal failure that
reached it would show as a ``caught`` line and the task would go on past an unrecorded step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

STEPS = 6
SPAWNED: list[subprocess.Popen[str]] = []
"""Every process these helpers started; the conftest kills those still alive after each test."""

TASKS = """
import asyncio
import os

import durablec

def log(text):
    fd = os.open(os.environ["FAULT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, f"{text} {os.getpid()}\\n".encode())
    os.close(fd)

async def step(index):
    log(f"start {index}")
    if os.environ.get("HOLD_AT") == str(index):
        # Held in flight until the test has set up its fault (or kills the process).
        while not os.path.exists("go"):
            await asyncio.sleep(0.01)  # durablec: skip (not a checkpoint: nothing to record)
    log(f"end {index}")
    return index * 10 if index != 3 else b"p" * 100_000

@durablec.task(id="faulty", retry=durablec.Retry.fixed(0, max_attempts=3))
async def flow(count):
    out = []
    for index in range(count):
        try:
            value = await step(index)
        except Exception as exc:
            log(f"caught {index} {type(exc).__name__}")
            value = None
        out.append(len(value) if isinstance(value, bytes) else value)
    return out
"""

EXPECTED = [0, 10, 20, 100_000, 40, 50]

INJECT = """
import os
import sqlite3
import sys
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

FAIL_COMMIT = int(os.environ.get("FAIL_COMMIT", "0"))
MAX_PAGES = int(os.environ.get("MAX_EXTRA_PAGES", "-1"))
committed = 0

@event.listens_for(Engine, "connect")
def limit_size(dbapi_connection, record):
    if MAX_PAGES >= 0:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + MAX_PAGES}")

@event.listens_for(Engine, "before_cursor_execute")
def mark(conn, cursor, statement, parameters, context, executemany):
    if os.environ.get("MARK_SCHEMA_LOCK") and statement == "BEGIN IMMEDIATE":
        # Found no tables (the unlocked look); about to wait for the creator's lock.
        open("schema-locking", "w").close()
    if os.environ.get("HOLD_SCHEMA") and "CREATE TABLE durablec_meta" in statement:
        # Found no tables; wait while another process creates them before we do.
        open("schema-held", "w").close()
        while not os.path.exists("schema-go"):
            time.sleep(0.01)
    if statement.lstrip().upper().startswith("INSERT INTO DURABLEC_STEPS"):
        conn.info["records_step"] = True

@event.listens_for(Engine, "commit")
def fail(conn):
    global committed
    if conn.info.pop("records_step", False):
        committed += 1
        if committed == FAIL_COMMIT:
            conn.connection.dbapi_connection.rollback()  # as a failed COMMIT leaves it
            raise sqlite3.OperationalError("injected: the commit of a checkpoint failed")

from durablec.cli import main

sys.argv[0] = "durablec"
main()
"""


def setup(tmp: Path) -> None:
    (tmp / "tasks.py").write_text(TASKS)
    (tmp / "inject.py").write_text(INJECT)


def start(tmp: Path, db: str, *, inject: bool = False, stderr: Path | None = None,
          **env: str) -> subprocess.Popen[str]:
    """``durablec run tasks.py:flow --run-id R`` (through inject.py when ``inject``); its stderr
    piped, or written to the file ``stderr``."""
    environment = dict(os.environ, DURABLEC_DATABASE_URL=db, FAULT_LOG=str(tmp / "log"), **env)
    entry = ["inject.py"] if inject else ["-m", "durablec"]
    command = [sys.executable, *entry, "run", "tasks.py:flow", "--args", f"[{STEPS}]",
               "--run-id", "R", "--no-lint"]
    if stderr is None:
        proc = subprocess.Popen(command, cwd=tmp, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    else:
        with open(stderr, "w") as err:
            proc = subprocess.Popen(command, cwd=tmp, env=environment, stdout=subprocess.PIPE,
                                    stderr=err, text=True)
    SPAWNED.append(proc)
    return proc


def lines(tmp: Path) -> list[tuple[str, int]]:
    """(event, pid) of each log line, e.g. ("start 3", 1234)."""
    log = tmp / "log"
    if not log.exists():
        return []
    return [(text, int(pid)) for text, _, pid in
            (line.rpartition(" ") for line in log.read_text().splitlines())]


def wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool], what: str) -> None:
    """Poll until ``ready()`` (never a timing assumption); fail if ``proc`` ends first."""
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the process ended before {what}: {out}\n{err}")
        time.sleep(0.01)


def started(tmp: Path, index: int, pid: int) -> bool:
    return (f"start {index}", pid) in lines(tmp)


def assert_stopped_at(tmp: Path, pid: int, index: int) -> None:
    """Process ``pid`` ran steps up to ``index`` and not one step further, and its task never saw
    the journal's failure."""
    mine = [text for text, writer in lines(tmp) if writer == pid]
    assert not [text for text in mine if text.startswith("caught")], mine
    assert mine[-1] == f"end {index}", mine
    assert f"start {index + 1}" not in mine, mine


def assert_resumed(tmp: Path, out: str, expected_starts: Counter[int]) -> None:
    """The resumed run's result is exact; every step ended its last time, and started as often as
    ``expected_starts`` says (a step whose record was lost runs again: at-least-once)."""
    import json

    assert json.loads(out) == EXPECTED
    events = [text for text, _ in lines(tmp)]
    assert not [text for text in events if text.startswith("caught")], events
    starts = Counter(int(text.split()[1]) for text in events if text.startswith("start"))
    assert starts == expected_starts, (starts, events)



def worker(tmp: Path, db: str, stderr: Path, *, until_idle: bool = False,
           **env: str) -> subprocess.Popen[str]:
    """``durablec worker tasks.py:flow``, its stderr written to the file ``stderr``."""
    environment = dict(os.environ, DURABLEC_DATABASE_URL=db, FAULT_LOG=str(tmp / "log"), **env)
    command = [sys.executable, "-m", "durablec", "worker", "tasks.py:flow", "--no-lint", "--poll",
               "0.05", *(["--until-idle"] if until_idle else [])]
    with open(stderr, "w") as err:
        proc = subprocess.Popen(command, cwd=tmp, env=environment, stdout=subprocess.DEVNULL,
                                stderr=err, text=True)
    SPAWNED.append(proc)
    return proc


def trigger(tmp: Path, db: str) -> str:
    """``durablec trigger tasks.py:flow``: a pending run for a worker; returns its id."""
    done = subprocess.run(
        [sys.executable, "-m", "durablec", "trigger", "tasks.py:flow", "--args", f"[{STEPS}]",
         "--no-lint", "--db", db], cwd=tmp, capture_output=True, text=True, check=True)
    return done.stdout.strip()
