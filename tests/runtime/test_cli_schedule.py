"""`durablec schedule ...` as real subprocesses on a real SQLite journal, with a worker that
fires what they ask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

TASKS = """
import durablec

@durablec.task(id="stamp")
async def stamp(label):
    slot = await durablec.now()
    return [label, slot.timestamp()]

@durablec.task(id="nightly", cron="0 3 * * *", timezone="Europe/Paris")
async def nightly():
    return None
"""


def durablec(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}",
               PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "durablec", *args], cwd=tmp, env=env,
                          capture_output=True, text=True, check=False)


def listed(tmp: Path) -> dict[str, dict[str, object]]:
    done = durablec(tmp, "schedule", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {info["id"]: info for info in map(json.loads, done.stdout.splitlines())}


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text(TASKS)
    return tmp_path


def test_add_list_trigger_now_pause_resume_delete(tmp: Path) -> None:
    added = durablec(tmp, "schedule", "add", "tasks.py:stamp", "--cron", "0 0 1 1 *",
                     "--cron", "0 0 1 7 *", "--args", '["hello"]', "--id", "twice-a-year",
                     "--timezone", "Europe/Paris", "--no-overlap")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "twice-a-year"
    info = listed(tmp)["twice-a-year"]
    assert info["task_id"] == "stamp" and info["source"] == "api" and not info["paused"]
    assert info["cron"] == {"exprs": ["0 0 1 1 *", "0 0 1 7 *"], "timezone": "Europe/Paris",
                            "catchup": "skip", "catchup_limit": 100, "overlap": False}
    next_at = datetime.fromtimestamp(float(info["next_at"]), ZoneInfo("Europe/Paris"))  # type: ignore[arg-type]
    assert (next_at.month, next_at.day, next_at.hour, next_at.minute) in {(1, 1, 0, 0), (7, 1, 0, 0)}

    # trigger-now names the run a worker will start; asking twice before then is one run.
    first = durablec(tmp, "schedule", "trigger-now", "twice-a-year")
    assert first.returncode == 0, first.stderr
    run_id = first.stdout.strip()
    assert run_id.startswith("schedule:twice-a-year@")
    assert durablec(tmp, "schedule", "trigger-now", "twice-a-year").stdout.strip() == run_id
    worked = durablec(tmp, "worker", "tasks.py:stamp", "--until-idle")
    assert worked.returncode == 0, worked.stderr
    shown = durablec(tmp, "runs", "--json")
    runs = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [r["id"] for r in runs] == [run_id] and runs[0]["status"] == "completed"
    # Its first now() is the trigger's time, the one its id names.
    label, slot = json.loads(runs[0]["result_repr"].replace("'", '"'))
    assert label == "hello"
    stamp = datetime.fromisoformat(run_id.split("@", 1)[1].replace("Z", "+00:00"))
    assert slot == stamp.timestamp()

    assert durablec(tmp, "schedule", "pause", "twice-a-year").returncode == 0
    assert listed(tmp)["twice-a-year"]["paused"] is True
    assert durablec(tmp, "schedule", "resume", "twice-a-year").returncode == 0
    assert listed(tmp)["twice-a-year"]["paused"] is False
    table = durablec(tmp, "schedule", "list")
    assert table.returncode == 0 and "twice" in table.stdout and "CET" in table.stdout
    assert durablec(tmp, "schedule", "delete", "twice-a-year").returncode == 0
    assert "twice-a-year" not in listed(tmp)


def test_declared_schedules_appear_once_a_worker_loads_them_and_cannot_be_deleted(
    tmp: Path,
) -> None:
    assert durablec(tmp, "worker", "tasks.py:nightly", "--until-idle").returncode == 0
    info = listed(tmp)["nightly"]
    assert info["source"] == "code" and info["cron"]["timezone"] == "Europe/Paris"  # type: ignore[index]
    refused = durablec(tmp, "schedule", "delete", "nightly")
    assert refused.returncode == 2 and "remove cron= from the task, or pause it" in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "0 25 * * *"], "cron expression '0 25 * * *' is not valid"),
        (["--cron", "* * * * *", "--timezone", "Europe/Atlantis"], "time zone 'Europe/Atlantis'"),
        (["--cron", "* * * * *", "--args", "[1, 2]"], "stamp"),
        (["--cron", "* * * * *", "--args", '["x"]', "--id", "a@b"], "without '@'"),
    ],
)
def test_a_bad_schedule_is_refused_in_one_line(tmp: Path, args: list[str], message: str) -> None:
    done = durablec(tmp, "schedule", "add", "tasks.py:stamp", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unknown_schedules_are_named(tmp: Path) -> None:
    for command in ("pause", "resume", "delete", "trigger-now"):
        done = durablec(tmp, "schedule", command, "nope")
        assert done.returncode == 2 and "no schedule 'nope'" in done.stderr, (command, done.stderr)
