"""Task logs: records a run's code writes with ``logging`` (and ``print``, when captured) are
kept with the run and its step position; a replay neither writes them out again nor stores them
twice; a retried attempt's records are its own. Crash (SIGKILL) coverage: the README demo
(tests/runtime/test_examples.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import durablec
from durablec.errors import RunSuspendedError
from durablec.runtime.worker import work
from helpers import Loader, force_due

FLOWS = """
import asyncio
import logging
import durablec
from durablec import Retry, task

log = logging.getLogger("flows")
TRIES = []

def shout(text):
    log.warning("inside the step: %s", text)
    return text.upper()

async def loud(text):
    return shout(text)

@task(id="approve")
async def approve(order):
    log.info("asking for %s", order)
    first = await loud(order)
    log.info("waiting")
    answer = await durablec.wait_for_event("approval")
    log.info("approved by %s", answer["by"])
    return f"{first}: {answer['by']}"

@task(id="flaky", retry=Retry.fixed(delay=0.01, max_attempts=3))
async def flaky():
    return await attempt()

@task(id="patient", retry=Retry.fixed(delay=60, max_attempts=3))
async def patient():
    return await attempt()

async def attempt():
    await asyncio.sleep(0)
    TRIES.append(1)
    log.info("try %d", len(TRIES))
    if len(TRIES) < 2:
        raise ValueError("not yet")
    return len(TRIES)
"""


class Seen(logging.Handler):
    """What reaches a handler the application configured on the root logger."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def seen() -> Iterator[Seen]:
    root = logging.getLogger()
    handler, level = Seen(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def test_records_are_kept_once_and_not_written_again_on_replay(
    load: Loader, db_url: str, seen: Seen
) -> None:
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.approve, "o7", db=db_url, run_id="l1")
    assert seen.messages == ["asking for o7", "inside the step: o7", "waiting"]
    client = durablec.Client(db_url)
    client.send_event("l1", "approval", {"by": "ana"})
    assert [o.result for o in asyncio.run(work(db_url, [mod.approve], until_idle=True))] == [
        "O7: ana"]
    # The resume replayed the first part: its records were neither written out nor kept again.
    assert seen.messages == ["asking for o7", "inside the step: o7", "waiting", "approved by ana"]
    logs = client.timeline("l1").logs
    assert [(log.position, log.level_name, log.logger, log.message) for log in logs] == [
        ("0", "INFO", "flows", "asking for o7"),
        ("0.0", "WARNING", "flows", "inside the step: o7"),  # inside the helper at step 0
        ("1", "INFO", "flows", "waiting"),
        ("2", "INFO", "flows", "approved by ana"),
    ]
    assert all(log.file and log.file.endswith(".py") for log in logs)
    entries = [entry.text for entry in client.timeline("l1").entries() if entry.what == "log"]
    assert entries[0] == "INFO flows: asking for o7"


def test_a_retried_attempt_keeps_its_own_records(load: Loader, db_url: str, seen: Seen) -> None:
    mod = load(FLOWS)
    assert durablec.run(mod.flaky, db=db_url, run_id="l2") == 2
    assert seen.messages == ["try 1", "try 2"]
    logs = durablec.Client(db_url).timeline("l2").logs
    assert [log.message for log in logs] == ["try 1", "try 2"]


def test_a_retry_after_a_suspension_keeps_its_own_records(
    load: Loader, db_url: str, seen: Seen
) -> None:
    """The first attempt's records were committed with its suspension (a long backoff); the
    second attempt writes the same line at the same place: it is new, not a replay's."""
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.patient, db=db_url, run_id="l3")
    force_due(db_url, "l3")
    assert [o.result for o in asyncio.run(work(db_url, [mod.patient], until_idle=True))] == [2]
    assert seen.messages == ["try 1", "try 2"]
    logs = durablec.Client(db_url).timeline("l3").logs
    assert [(log.attempt, log.message) for log in logs] == [(1, "try 1"), (2, "try 2")]


def test_print_is_kept_when_captured(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(
        "import asyncio\nimport durablec\n\n@durablec.task(id='talk')\nasync def talk():\n"
        "    print('hello from the task')\n    await asyncio.sleep(0)\n    return 1\n")
    env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp_path / 'j.db'}",
               DURABLEC_CAPTURE_PRINT="1")
    command = [sys.executable, "-m", "durablec"]
    done = subprocess.run([*command, "run", "tasks.py:talk", "--run-id", "p1"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["hello from the task", "1"]
    shown = subprocess.run([*command, "inspect", "p1", "--json"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert [(log["logger"], log["message"]) for log in json.loads(shown)["logs"]] == [
        ("print", "hello from the task")]
