"""Firing schedules against a real journal (SQLite file and PostgreSQL) with a controlled clock:
overlap, catch-up after an outage, pausing, changed code, and two firers racing on one slot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from durablec.runtime.store import Journal
from durablec.runtime.store.schema import runs
from durablec.runtime import scheduler
from durablec.runtime.scheduler import Firer, get, set_paused, slot_run_id
from durablec.runtime.schedule import Cron
from durablec.runtime.task import Task

HOUR = 3600.0
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z, on the hour


async def _job() -> None:
    return None


def _task(**cron: Any) -> Task[[], None]:
    return Task(_job, id="job", **cron)


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def journal(db_url: str) -> Iterator[Journal]:
    made = Journal(db_url)
    yield made
    made.close()


def _run_ids(journal: Journal) -> list[str]:
    with journal.begin() as conn:
        return list(conn.execute(select(runs.c.id).order_by(runs.c.id)).scalars())


def _finish(journal: Journal, run_id: str) -> None:
    with journal.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(status="completed"))


def test_without_overlap_a_slot_is_skipped_while_the_last_run_is_unfinished(
    journal: Journal,
) -> None:
    clock = Clock(START - 1)
    firer = Firer(journal, [_task(cron="0 * * * *", overlap=False)], clock=clock)
    assert firer.fire() == []
    clock.at = START + 1
    assert firer.fire() == [slot_run_id("job", START)]
    clock.at = START + HOUR + 1  # the 09:00 run is still pending: 10:00 is skipped
    assert firer.fire() == []
    _finish(journal, slot_run_id("job", START))
    clock.at = START + 2 * HOUR + 1
    assert firer.fire() == [slot_run_id("job", START + 2 * HOUR)]
    assert get(journal, "job").last_slot == START + 2 * HOUR


@pytest.mark.parametrize(
    ("catchup", "hours"), [("skip", [10]), ("latest", [9, 10]), ("all", [7, 8, 9, 10])])
def test_slots_missed_while_no_worker_ran_follow_the_policy(
    journal: Journal, catchup: str, hours: list[int]
) -> None:
    clock = Clock(START - 1)
    task = _task(cron="0 * * * *", catchup=catchup, catchup_limit=3)
    Firer(journal, [task], clock=clock).fire()  # declared at 07:59:59, then every worker stops
    clock.at = START + 10 * HOUR + 5  # a worker starts at 18:00:05: 08:00-17:00 were missed
    started = Firer(journal, [task], clock=clock).fire()
    assert started == [slot_run_id("job", START + h * HOUR) for h in hours]
    assert _run_ids(journal) == sorted(started)


def test_a_resumed_schedule_does_not_catch_up_the_slots_it_was_paused_for(
    journal: Journal,
) -> None:
    clock = Clock(START - 1)
    task = _task(cron="0 * * * *", catchup="all")
    Firer(journal, [task], clock=clock).fire()
    set_paused(journal, "job", True, at=clock.at)
    clock.at = START + 5 * HOUR + 5
    assert Firer(journal, [task], clock=clock).fire() == []
    set_paused(journal, "job", False, at=clock.at)
    clock.at = START + 6 * HOUR + 1
    assert Firer(journal, [task], clock=clock).fire() == [slot_run_id("job", START + 6 * HOUR)]


def test_changed_code_changes_the_declared_schedule_and_a_removed_cron_removes_it(
    journal: Journal,
) -> None:
    clock = Clock(START - 1)
    Firer(journal, [_task(cron="0 * * * *")], clock=clock).fire()
    assert get(journal, "job").next_at == START
    Firer(journal, [_task(cron="45 * * * *", timezone="Asia/Kolkata")], clock=clock).fire()
    info = get(journal, "job")
    assert info.cron.exprs == ("45 * * * *",) and info.cron.timezone == "Asia/Kolkata"
    assert info.next_at == START + 900  # 13:45 in Kolkata (+05:30) is 08:15 UTC
    Firer(journal, [_task()], clock=clock).fire()
    with pytest.raises(Exception, match="no schedule 'job'"):
        get(journal, "job")


def test_two_firers_racing_on_every_slot_start_one_run_each(journal: Journal) -> None:
    clock = Clock(START - 1)
    task = _task(cron="* * * * * *")
    firers = [Firer(journal, [task], clock=clock) for _ in range(2)]
    for firer in firers:
        firer.fire()
    started: list[str] = []
    for second in range(1, 11):
        clock.at = START + second - 0.5
        barrier = threading.Barrier(2)

        def race(firer: Firer) -> None:
            barrier.wait()
            started.extend(firer.fire())

        threads = [threading.Thread(target=race, args=(f,)) for f in firers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    expected = [slot_run_id("job", START + n) for n in range(10)]
    assert sorted(started) == expected and _run_ids(journal) == expected


def test_a_schedule_whose_arguments_do_not_fit_is_reported_once_and_left_alone(
    journal: Journal, capsys: pytest.CaptureFixture[str]
) -> None:
    # Added by task id from a process without the code, so its arguments were not checked.
    scheduler.add(journal, "job", Cron.of("* * * * * *"), (1, 2), {}, schedule_id="misfit")
    clock = Clock(get(journal, "misfit").next_at + 0.5)
    firer = Firer(journal, [_task()], clock=clock)
    assert firer.fire() == []
    clock.at += 1
    assert firer.fire() == []
    reported = capsys.readouterr().err.splitlines()
    assert len(reported) == 1 and reported[0].startswith(
        "durablec worker: schedule misfit: task 'job' (`_job()")
    assert "cannot take the arguments (1, 2): too many positional arguments" in reported[0]
    assert reported[0].endswith("; this worker no longer fires it")
    assert _run_ids(journal) == []
