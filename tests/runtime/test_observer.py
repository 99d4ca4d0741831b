"""The step observer sees each run's executions and each step's live attempts and replays."""

from __future__ import annotations

import pytest
from sqlalchemy import update

import durablec
from durablec.runtime.store.schema import runs
from durablec.runtime.observer import StepEvent, StepObserver, StepOutcome, observe
from durablec.runtime.runner import journal_for

from helpers import Loader

TASKS = """
import durablec
from durablec import Retry

TRIES = []

async def fetch(n):
    return n * 2

async def flaky():
    TRIES.append(1)
    if len(TRIES) < 2:
        raise ConnectionError("try again")
    return "ok"

@durablec.task(id="observed", retry=Retry.fixed(0, max_attempts=3))
async def observed():
    a = await fetch(1)
    b = await flaky()
    return a, b
"""


class Recorder(StepObserver):
    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def run_started(self, run_id: str, task_id: str, resumed: bool) -> None:
        self.seen.append(("run", task_id, "resumed" if resumed else "new"))

    def run_ended(self, run_id: str, status: str, replayed: int, live: int) -> None:
        self.seen.append(("end", status, str(replayed), str(live)))

    def step_started(self, event: StepEvent) -> None:
        self.seen.append(("start", event.key, event.callee, str(event.attempt)))

    def step_ended(self, event: StepEvent, outcome: StepOutcome, error: BaseException | None,
                   duration: float) -> None:
        assert duration >= 0
        self.seen.append(("ended", event.key, outcome, type(error).__name__ if error else "-"))

    def step_replayed(self, event: StepEvent, outcome: str) -> None:
        self.seen.append(("replayed", event.key, outcome))


def test_live_attempts_retries_and_replays_are_observed(load: Loader, db_url: str) -> None:
    mod = load(TASKS)
    with observe(Recorder()) as recorder:
        assert durablec.run(mod.observed, db=db_url, run_id="o1") == (2, "ok")
    assert recorder.seen == [
        ("run", "observed", "new"),
        ("start", "0", "fetch", "1"), ("ended", "0", "ok", "-"),
        ("start", "1", "flaky", "1"), ("ended", "1", "retry", "ConnectionError"),
        ("start", "1", "flaky", "2"), ("ended", "1", "ok", "-"),
        ("end", "completed", "0", "3"),
    ]
    with journal_for(db_url).begin() as conn:
        conn.execute(update(runs).where(runs.c.id == "o1").values(status="pending"))
    with observe(Recorder()) as again:
        durablec.run(mod.observed, db=db_url, run_id="o1")
    assert again.seen == [("run", "observed", "resumed"), ("replayed", "0", "ok"),
                          ("replayed", "1", "ok"), ("end", "completed", "2", "0")]


def test_a_raising_observer_does_not_break_the_run(load: Loader, db_url: str) -> None:
    class Broken(StepObserver):
        def step_started(self, event: StepEvent) -> None:
            raise RuntimeError("observer bug")

    mod = load(TASKS)
    with observe(Broken()), pytest.warns(RuntimeWarning, match="observer bug"):
        assert durablec.run(mod.observed, db=db_url, run_id="o2") == (2, "ok")
