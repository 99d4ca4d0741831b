"""The run-management commands, as real subprocesses on a real SQLite journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TASKS = """
import durablec

async def step(x):
    return x * 2

@durablec.task(id="double")
async def double(x):
    return await step(x)

@durablec.task(id="boom", retry=durablec.Retry.none())
async def boom():
    await step(1)
    raise ValueError("broken on purpose")

@durablec.task(id="nap")
async def nap():
    await durablec.sleep(1.5)
    return "rested"

calls = []

async def flaky(n):
    calls.append(n)
    if len(calls) < 2:
        raise ConnectionError("try again")
    return n

@durablec.task(id="backoff", retry=durablec.Retry.fixed(1.5, max_attempts=3))
async def backoff():
    return await flaky(7)

@durablec.task(id="lost", retry=durablec.Retry.none(), dead_letter="dlq")
async def lost():
    await step(1)
    raise ValueError("to the dead-letter queue")

async def fragile(n):
    import os
    if not os.path.exists("fixed"):  # durablec: allow[DC402]
        raise RuntimeError("not fixed yet")
    return n + 1

@durablec.task(id="pipeline", retry=durablec.Retry.none())
async def pipeline():
    a = await step(1)
    b = await fragile(a)
    return [a, b]

@durablec.task(id="gate")
async def gate(order):
    first = await step(order)
    decision = await durablec.wait_for_event("approval")
    return {"order": first, "approved_by": decision["by"]}
"""


def durablec(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}",
               PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "durablec", *args], cwd=tmp, env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "tasks.py").write_text(TASKS)
    return tmp_path


def test_run_prints_result_and_exit_codes(tmp: Path) -> None:
    done = durablec(tmp, "run", "tasks.py:double", "--args", "[21]", "--run-id", "r1")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == 42
    again = durablec(tmp, "run", "tasks.py:double", "--args", "[21]", "--run-id", "r1")
    assert again.returncode == 0 and json.loads(again.stdout) == 42
    failed = durablec(tmp, "run", "tasks.py:boom", "--run-id", "r2")
    assert failed.returncode == 1 and "broken on purpose" in failed.stderr
    assert durablec(tmp, "run", "tasks.py:boom", "--run-id", "r2").returncode == 1
    bad = durablec(tmp, "run", "tasks.py:double", "--args", "{}")
    assert bad.returncode == 2 and "--args takes a JSON array" in bad.stderr


def test_event_flow_through_the_cli(tmp: Path) -> None:
    waiting = durablec(tmp, "run", "tasks.py:gate", "--args", "[5]", "--run-id", "g1")
    assert waiting.returncode == 3, waiting.stderr
    assert "waiting" in waiting.stderr
    listed = durablec(tmp, "runs", "--status", "waiting", "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["g1"]
    sent = durablec(tmp, "send-event", "g1", "approval", '{"by": "ana"}')
    assert sent.returncode == 0, sent.stderr
    done = durablec(tmp, "worker", "tasks.py:gate", "--until-idle")
    assert done.returncode == 0, done.stderr
    timeline = json.loads(durablec(tmp, "inspect", "g1", "--json").stdout)
    assert timeline["run"]["status"] == "completed"
    assert [s["callee"] for s in timeline["steps"]] == ["step", "durablec.wait_for_event"]
    assert timeline["steps"][0]["args"] == "5" and timeline["steps"][0]["result"] == "10"
    assert timeline["steps"][1]["result_value"] == {"by": "ana"}
    assert "completed" in durablec(tmp, "inspect", "g1").stdout


def test_trigger_cancel_retry(tmp: Path) -> None:
    run_id = durablec(tmp, "trigger", "tasks.py:double", "--args", "[1]").stdout.strip()
    assert durablec(tmp, "cancel", run_id).returncode == 0
    assert "already cancelled" in durablec(tmp, "cancel", run_id).stderr
    durablec(tmp, "run", "tasks.py:boom", "--run-id", "b1")
    assert durablec(tmp, "retry", "b1").returncode == 0
    assert durablec(tmp, "runs", "--status", "pending", "--json").stdout.count('"b1"') == 1


def test_replay_check_reports_divergence(tmp: Path) -> None:
    assert durablec(tmp, "run", "tasks.py:double", "--args", "[2]").returncode == 0
    clean = durablec(tmp, "replay", "--check", "tasks.py:double")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (tmp / "tasks.py").write_text(TASKS.replace("return await step(x)", "return await durablec.now()"))
    diverged = durablec(tmp, "replay", "--check", "tasks.py:double")
    assert diverged.returncode == 1
    assert "`step`" in diverged.stdout and "`durablec.now`" in diverged.stdout


def test_inspect_reads_at_80_columns_with_events_and_traceback(tmp: Path) -> None:
    """Issue 13 point 1: one block per step, every event in time order, the user's traceback."""
    assert durablec(tmp, "run", "tasks.py:gate", "--args", "[5]", "--run-id", "g1").returncode == 3
    assert durablec(tmp, "send-event", "g1", "approval", '{"by": "ana"}').returncode == 0
    assert durablec(tmp, "worker", "tasks.py:gate", "--until-idle").returncode == 0
    shown = durablec(tmp, "inspect", "g1")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    # Every line fits, but for file:line, which is shown in full to be copied.
    assert all(len(line) <= 80 for line in lines if not line.strip().startswith("at ")), lines
    text = shown.stdout
    line = TASKS.splitlines().index("    first = await step(order)") + 1
    assert f"at {tmp / 'tasks.py'}:{line}:" in text
    order = [text.index(word) for word in
             ("created:", "started: execution 1 on", "step 0 step", "suspended: ",
              "event sent: approval", "resumed: execution 2 on", "step 1 durablec.wait_for_event",
              "event taken: approval by step 1", "completed: result")]
    assert order == sorted(order)
    executions = json.loads(durablec(tmp, "inspect", "g1", "--json").stdout)["executions"]
    assert [(e["epoch"], e["resumed"], e["status"], e["waiting_for"], e["replayed"], e["live"])
            for e in executions] == [(1, False, "waiting", "approval", 0, 1),
                                     (2, True, "completed", None, 1, 1)]
    wide = durablec(tmp, "inspect", "g1", "--width", "170").stdout
    assert any(line.split()[1:3] == ["step", "1"] for line in wide.splitlines() if "+" in line)

    assert durablec(tmp, "run", "tasks.py:boom", "--run-id", "r2").returncode == 1
    failed = durablec(tmp, "inspect", "r2").stdout
    assert "body boom" in failed and 'raise ValueError("broken on purpose")' in failed
    assert "durablec/runtime" not in failed.split("traceback")[-1]
    data = json.loads(durablec(tmp, "inspect", "r2", "--json").stdout)
    assert data["steps"][0]["args_value"] == {"args": [1], "kwargs": {}}
    assert data["steps"][0]["result_value"] == 2
    assert data["steps"][1]["kind"] == "body" and "tasks.py" in data["traceback"]
    assert [entry["what"] for entry in data["timeline"]] == ["created", "started", "step",
                                                            "body failed", "failed"]


def test_run_id_prefixes_and_copyable_ids(tmp: Path) -> None:
    """Issue 13 point 2: a unique prefix names a run; an ambiguous one lists the candidates."""
    ids = [durablec(tmp, "trigger", "tasks.py:double", "--args", f"[{n}]").stdout.strip()
           for n in range(3)]
    assert durablec(tmp, "run", "tasks.py:double", "--args", "[1]", "--run-id", "ab1").returncode == 0
    assert durablec(tmp, "run", "tasks.py:double", "--args", "[2]", "--run-id", "ab2").returncode == 0
    ambiguous = durablec(tmp, "inspect", "ab")
    assert ambiguous.returncode == 2 and "ab1, ab2" in ambiguous.stderr
    assert "run ab1\n" in durablec(tmp, "inspect", "ab1").stdout  # an exact id wins
    assert durablec(tmp, "inspect", "zz").returncode == 2
    # Enough characters of a generated id to be unique, for every command taking a run id.
    prefix = min(n for n in range(1, 33) if sum(i.startswith(ids[0][:n]) for i in ids) == 1)
    short = ids[0][:max(prefix, 4)]
    assert f"run {ids[0]}" in durablec(tmp, "inspect", short).stdout
    cancelled = durablec(tmp, "cancel", short)
    assert cancelled.returncode == 0 and ids[0] in cancelled.stdout
    listed = durablec(tmp, "runs").stdout.splitlines()
    assert all(len(line) <= 80 for line in listed)
    assert {line.split()[0] for line in listed[1:]} == {*ids, "ab1", "ab2"}


def test_run_waits_through_sleeps_and_backoffs(tmp: Path) -> None:
    """Issue 13 point 3: exit 3 only for runs that need someone else, saying what continues them."""
    napped = durablec(tmp, "run", "tasks.py:nap", "--run-id", "n1")
    assert napped.returncode == 0, napped.stderr
    assert json.loads(napped.stdout) == "rested" and "waiting here" in napped.stderr
    retried = durablec(tmp, "run", "tasks.py:backoff", "--run-id", "b1")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == 7 and "retries in 1.5 s" in retried.stderr
    past = durablec(tmp, "run", "tasks.py:nap", "--run-id", "n2", "--max-wait", "0.5")
    assert past.returncode == 3
    assert "is sleeping until" in past.stderr and "--run-id n2" in past.stderr
    backing = durablec(tmp, "run", "tasks.py:backoff", "--run-id", "b2", "--max-wait", "0.5")
    assert backing.returncode == 3 and "run b2 is retrying: step 0 failed (ConnectionError: try "\
        "again); it retries in 1.5 s; the next try, at" in backing.stderr, backing.stderr
    listed = durablec(tmp, "runs", "--status", "retrying").stdout.splitlines()
    assert listed[1].split()[:2] == ["b2", "retrying"] and "next try" in listed[1]
    assert "retrying" in durablec(tmp, "runs", "--summary").stdout.splitlines()[0]
    gated = durablec(tmp, "run", "tasks.py:gate", "--args", "[1]", "--run-id", "g2")
    assert gated.returncode == 3
    assert "is waiting for event 'approval'" in gated.stderr
    assert "durablec send-event g2 approval JSON" in gated.stderr


def test_journals_for_tests_and_scripts(tmp: Path) -> None:
    """Issue 13 point 4: sqlite:// in one process; read commands never create a journal; -v."""
    script = tmp / "script.py"
    script.write_text(
        "import durablec\n"
        "from durablec.compiler.importhook import install\n"
        "install(['.'])\n"
        "import tasks\n"
        "print(durablec.run(tasks.double, 4, db='sqlite://'), "
        "durablec.run(tasks.double, 5, db='sqlite:///:memory:'),"
        " durablec.Client('sqlite://').runs()[0].status)\n")
    ran = subprocess.run([sys.executable, str(script)], cwd=tmp, capture_output=True, text=True,
                         check=False)
    assert ran.returncode == 0 and ran.stdout.split() == ["8", "10", "completed"], ran.stderr
    empty = tmp / "elsewhere"
    empty.mkdir()
    for command in (["runs"], ["inspect", "r1"], ["cancel", "r1"], ["export", "r1"]):
        refused = subprocess.run([sys.executable, "-m", "durablec", *command], cwd=empty,
                                 capture_output=True, text=True, check=False,
                                 env={k: v for k, v in os.environ.items()
                                      if k != "DURABLEC_DATABASE_URL"})
        assert refused.returncode == 2 and "no journal at sqlite:///./durablec.db" in refused.stderr
    assert list(empty.iterdir()) == []
    told = durablec(tmp, "-v", "run", "tasks.py:double", "--args", "[1]")
    assert f"durablec: journal sqlite:///{tmp / 'j.db'}" in told.stderr


def test_a_reused_idempotency_key_takes_the_same_arguments(tmp: Path) -> None:
    """Issue 13 point 5."""
    first = durablec(tmp, "trigger", "tasks.py:double", "--args", "[1]", "--idempotency-key", "k")
    again = durablec(tmp, "trigger", "tasks.py:double", "--args", "[1]", "--idempotency-key", "k")
    assert first.returncode == again.returncode == 0 and first.stdout == again.stdout
    other = durablec(tmp, "trigger", "tasks.py:double", "--args", "[2]", "--idempotency-key", "k")
    assert other.returncode == 2 and other.stdout == ""
    assert f"used by run {first.stdout.strip()} with other arguments" in other.stderr


def test_runs_filters_and_summary(tmp: Path) -> None:
    """Issue 13 point 6 (without the `retrying` status): filters, --summary, bad statuses."""
    assert durablec(tmp, "run", "tasks.py:double", "--args", "[1]", "--run-id", "d1").returncode == 0
    assert durablec(tmp, "run", "tasks.py:boom", "--run-id", "b1").returncode == 1
    bogus = durablec(tmp, "runs", "--status", "bogus")
    assert bogus.returncode == 2 and "no run status 'bogus'" in bogus.stderr
    summary = durablec(tmp, "runs", "--summary").stdout.splitlines()
    assert summary[0].split() == ["task", "queue", "failed", "done"]
    assert summary[1].split() == ["boom", "-", "1", "0"] and summary[2].split() == ["double", "-", "0", "1"]
    counted = json.loads(durablec(tmp, "runs", "--summary", "--json").stdout)
    assert {"task": "boom", "queue": None, "counts": {"failed": 1}} in counted["runs"]
    assert counted["schedules"] == []
    assert durablec(tmp, "runs", "--since", "1h", "--status", "failed").stdout.split()[4] == "b1"
    assert len(durablec(tmp, "runs", "--since", "2999-01-01").stdout.splitlines()) == 1
    assert durablec(tmp, "runs", "--queue", "nope").stdout.splitlines()[1:] == []
    assert durablec(tmp, "runs", "--dead-letter", "dlq").stdout.splitlines()[1:] == []
    assert durablec(tmp, "runs", "--since", "soon").returncode == 2


def test_replay_check_filters_advises_and_survives_a_bad_row(tmp: Path) -> None:
    """Issue 13 point 7 (replay --check): advice per status; an unreadable row is one run's."""
    import sqlite3

    for run_id in ("c1", "c2"):
        assert durablec(tmp, "run", "tasks.py:double", "--args", "[2]", "--run-id", run_id).returncode == 0
    with sqlite3.connect(tmp / "j.db") as db:
        db.execute("UPDATE durablec_steps SET result = x'00ff' WHERE run_id = 'c1'")
    (tmp / "tasks.py").write_text(TASKS.replace("return await step(x)", "return await durablec.now()"))
    checked = durablec(tmp, "replay", "--check", "tasks.py:double")
    assert checked.returncode == 1
    assert "c2 (double, completed)" in checked.stdout and "nothing replays it again" in checked.stdout
    assert "c1 (double, completed)" in checked.stdout
    assert "replay --check: 2 runs, 2 diverged" in checked.stderr
    none = durablec(tmp, "replay", "--check", "tasks.py:double", "--status", "failed")
    assert none.returncode == 0 and "0 runs" in none.stderr
    one = durablec(tmp, "replay", "--check", "tasks.py:double", "--limit", "1", "--since", "1h")
    assert "1 runs" in one.stderr


def test_retry_redrives_a_dead_letter_queue(tmp: Path) -> None:
    """Issue 13 point 7 (retry --dead-letter)."""
    for run_id in ("l1", "l2"):
        assert durablec(tmp, "run", "tasks.py:lost", "--run-id", run_id).returncode == 1
    listed = durablec(tmp, "runs", "--dead-letter", "dlq").stdout
    assert "dead-letter dlq: to the dead-letter queue" in listed
    redriven = durablec(tmp, "retry", "--dead-letter", "dlq")
    assert redriven.returncode == 0 and redriven.stdout.split() == ["l1", "l2"]
    assert "2 runs of dead-letter queue 'dlq'" in redriven.stderr
    pending = durablec(tmp, "runs", "--status", "pending", "--json").stdout.splitlines()
    assert sorted(json.loads(line)["id"] for line in pending) == ["l1", "l2"]
    # Out of the queue: a second redrive finds nothing to retry twice.
    assert durablec(tmp, "runs", "--dead-letter", "dlq", "--json").stdout == ""
    assert "0 runs of dead-letter queue 'dlq'" in durablec(tmp, "retry", "--dead-letter", "dlq").stderr
    assert durablec(tmp, "retry").returncode == 2


def test_fork_from_a_step(tmp: Path) -> None:
    """Issue 13 point 7 (fork): the steps before KEY replay, KEY and after run live."""
    failed = durablec(tmp, "run", "tasks.py:pipeline", "--run-id", "p1")
    assert failed.returncode == 1 and "not fixed yet" in failed.stderr
    (tmp / "fixed").write_text("")
    forked = durablec(tmp, "fork", "p", "--from-step", "1")
    assert forked.returncode == 0, forked.stderr
    new_id = forked.stdout.strip()
    done = durablec(tmp, "run", "tasks.py:pipeline", "--run-id", new_id)
    assert done.returncode == 0 and json.loads(done.stdout) == [2, 3], done.stderr
    data = json.loads(durablec(tmp, "inspect", new_id, "--json").stdout)
    assert [(s["key"], s["outcome"]) for s in data["steps"]] == [("0", "ok"), ("1", "ok")]
    # Step 0 is the original's row, recorded before the fork existed; step 1 ran live after.
    assert data["steps"][0]["at"] < 0 < data["steps"][1]["at"]
    assert durablec(tmp, "inspect", "p1").returncode == 0  # the original is left as it was
    missing = durablec(tmp, "fork", "p1", "--from-step", "9")
    assert missing.returncode == 2 and "has no step '9'" in missing.stderr
