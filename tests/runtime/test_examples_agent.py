"""examples/agent: the tool-calling loop killed with SIGKILL mid-call and resumed, as real processes.

The kill points are deterministic: the example can hang one tool's call (AGENT_HANG), and the test
kills the process once that call has started and everything before it is in the journal.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers import force_due, kill_when

ROOT = Path(__file__).resolve().parents[2]
TARGET = f"{ROOT / 'examples' / 'agent' / 'agent.py'}:travel_agent"
RESULT = {
    "answer": "Booked FR 7 to Lisbon (BK trip/4:0.0); weather Lisbon: sunny, 24 C",
    "turns": 3,
    "tools": ["search_flights", "get_weather", "book_flight"],
}
MODEL_CALLS = Counter({"model 1": 1, "model 4": 1, "model 6": 1})
TOOL_ENDS = Counter({"end search_flights": 1, "end get_weather": 1, "end book_flight": 1})
TOOL_STARTS = Counter({"start search_flights": 1, "start get_weather": 1, "start book_flight": 1})


def start(tmp: Path, **env: str) -> subprocess.Popen[str]:
    full_env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}",
                    AGENT_LOG=str(tmp / "agent.log"), **env)
    return subprocess.Popen(
        [sys.executable, "-m", "durablec", "run", TARGET, "--args", '["Lisbon"]', "--run-id", "trip"],
        cwd=tmp, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def log(tmp: Path, prefix: str = "") -> Counter[str]:
    """The lines of the example's call log (those starting with ``prefix``), counted."""
    path = tmp / "agent.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return Counter(line for line in lines if line.startswith(prefix))


def committed(tmp: Path, key: str) -> bool:
    if not (tmp / "j.db").exists():
        return False
    with sqlite3.connect(tmp / "j.db") as db:
        try:
            row = db.execute("SELECT 1 FROM durablec_steps WHERE run_id = 'trip' AND key = ? "
                             "AND final AND outcome = 'ok'", (key,)).fetchone()
        except sqlite3.OperationalError:  # the schema is not created yet
            return False
    return row is not None


def kill_mid_call(tmp: Path, hang: str, *committed_keys: str) -> None:
    """Start a run whose ``hang`` tool call hangs; SIGKILL it once that call started and the
    steps ``committed_keys`` are in the journal."""
    proc = start(tmp, AGENT_HANG=hang)
    kill_when(proc, lambda: bool(log(tmp)["start " + hang]) and all(committed(tmp, k) for k in committed_keys),
              f"{hang} hung")


def finish(tmp: Path) -> dict[str, object]:
    proc = start(tmp)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.parametrize(
    ("hang", "keys", "restarted"),
    [
        # In the first turn's gather: search_flights (child 1:0) finished, get_weather in flight.
        ("get_weather", ["1:0"], "get_weather"),
        # In the second turn: the whole first turn and the durable sleep are in the journal.
        ("book_flight", ["2"], "book_flight"),
    ],
    ids=["gather-child", "second-turn"],
)
def test_sigkill_mid_tool_call_then_resume(
    tmp_path: Path, hang: str, keys: list[str], restarted: str
) -> None:
    kill_mid_call(tmp_path, hang, *keys)
    assert not log(tmp_path)["end " + hang]
    assert finish(tmp_path) == RESULT

    # Every model and tool call completed once; only the call in flight at the kill restarted.
    assert log(tmp_path, "model ") == MODEL_CALLS
    assert log(tmp_path, "end ") == TOOL_ENDS
    assert log(tmp_path, "start ") == TOOL_STARTS + Counter({"start " + restarted: 1})
    with sqlite3.connect(tmp_path / "j.db") as db:
        assert db.execute("SELECT id, status FROM durablec_runs").fetchall() == [("trip", "completed")]
        assert db.execute("SELECT key FROM durablec_steps WHERE final GROUP BY key "
                          "HAVING COUNT(*) > 1").fetchall() == []


def test_a_long_pause_between_turns_suspends_the_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.db'}"
    for turn in (1, 2):
        proc = start(tmp_path, AGENT_TURN_PAUSE="3600")
        _, err = proc.communicate()
        assert proc.returncode == 3, err
        assert "sleeping until" in err
        with sqlite3.connect(tmp_path / "j.db") as db:
            assert db.execute("SELECT status FROM durablec_runs").fetchall() == [("sleeping",)]
        assert log(tmp_path, "model ").total() == turn
        force_due(url, "trip")
    proc = start(tmp_path, AGENT_TURN_PAUSE="3600")
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out) == RESULT
    # Resuming after each suspension replayed the turns before it: no call ran twice.
    assert log(tmp_path) == MODEL_CALLS + TOOL_STARTS + TOOL_ENDS
