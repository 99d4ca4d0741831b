"""examples/approval end to end: a manual pause, `retry`, an approval event, as real processes.

Each `durablec run` is a real subprocess on a real SQLite file; `retry` and `send-event` come from
other processes (the CLI, or a Client in the test process), as a person's commands would.
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

import durablec

ROOT = Path(__file__).resolve().parents[2]
TARGET = f"{ROOT / 'examples' / 'approval' / 'approval.py'}:approve_expense"


def durablec_cli(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp / 'j.db'}",
                    APPROVAL_DIR=str(tmp), **env)
    return subprocess.run([sys.executable, "-m", "durablec", *args], cwd=tmp, env=full_env,
                          capture_output=True, text=True, check=False)


def status(tmp: Path, run_id: str) -> str:
    with sqlite3.connect(tmp / "j.db") as db:
        found: str = db.execute("SELECT status FROM durablec_runs WHERE id = ?", (run_id,)).fetchone()[0]
    return found


def effects(tmp: Path) -> Counter[str]:
    return Counter((tmp / "effects.log").read_text().splitlines())


PAID = {"expense": "e-7", "ledger": "L-e-7", "status": "paid", "payment": "P-e-7",
        "approved_by": "ada"}


def test_pause_retry_wait_and_approve_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "ledger.closed").touch()
    paused = durablec_cli(tmp_path, "run", TARGET, "--args", '["e-7", 120]', "--run-id", "e-7")
    assert paused.returncode == 3, paused.stderr
    assert "LedgerClosedError" in paused.stderr and status(tmp_path, "e-7") == "paused"
    assert "durablec retry e-7" in paused.stderr  # workers never resume a paused run

    # Workers leave a paused run alone until someone retries it.
    idle = durablec_cli(tmp_path, "worker", TARGET, "--until-idle")
    assert idle.returncode == 0, idle.stderr
    assert status(tmp_path, "e-7") == "paused"
    assert effects(tmp_path)["book refused e-7"] == 1

    # Retrying before the cause is fixed pauses it again at the same step.
    assert durablec_cli(tmp_path, "retry", "e-7").returncode == 0
    assert status(tmp_path, "e-7") == "pending"
    again = durablec_cli(tmp_path, "run", TARGET, "--run-id", "e-7")
    assert again.returncode == 3 and status(tmp_path, "e-7") == "paused"

    (tmp_path / "ledger.closed").unlink()
    assert durablec_cli(tmp_path, "retry", "e-7").returncode == 0
    waiting = durablec_cli(tmp_path, "run", TARGET, "--run-id", "e-7")
    assert waiting.returncode == 3, waiting.stderr
    assert "waiting for event 'approved'" in waiting.stderr
    assert status(tmp_path, "e-7") == "waiting"

    sent = durablec_cli(tmp_path, "send-event", "e-7", "approved", '{"by": "ada"}')
    assert sent.returncode == 0, sent.stderr
    assert status(tmp_path, "e-7") == "pending"
    done = durablec_cli(tmp_path, "run", TARGET, "--run-id", "e-7")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == PAID

    # Steps that completed before a pause or a wait did not run again on any resume.
    assert effects(tmp_path) == Counter({
        "prepare e-7": 1, "book refused e-7": 2, "book e-7": 1, "ask e-7 120": 1,
        "pay e-7 120 e-7/4": 1,
    })
    timeline = json.loads(durablec_cli(tmp_path, "inspect", "e-7", "--json").stdout)
    book = [(s["attempt"], s["outcome"], s["final"]) for s in timeline["steps"] if s["callee"] == "book"]
    assert book == [(1, "error", False), (2, "error", False), (3, "ok", True)]

    finished = durablec_cli(tmp_path, "run", TARGET, "--run-id", "e-7")
    assert finished.returncode == 0 and json.loads(finished.stdout) == PAID
    assert sum(effects(tmp_path).values()) == 6


def test_client_retry_and_send_event_from_another_process(tmp_path: Path) -> None:
    client = durablec.Client(f"sqlite:///{tmp_path / 'j.db'}")
    (tmp_path / "ledger.closed").touch()
    assert durablec_cli(tmp_path, "run", TARGET, "--args", '["e-7", 120]',
                        "--run-id", "e-7").returncode == 3
    paused = client.get("e-7")
    assert paused.status == "paused"
    assert paused.error_message is not None and "LedgerClosedError" in paused.error_message
    failed = [step for step in client.timeline("e-7").steps if step.outcome == "error"]
    assert [(step.callee, step.error_type) for step in failed] == [
        ("book", "approval.LedgerClosedError")]

    (tmp_path / "ledger.closed").unlink()
    client.retry("e-7")
    assert durablec_cli(tmp_path, "run", TARGET, "--run-id", "e-7").returncode == 3
    assert client.get("e-7").waiting_for == "approved"

    client.send_event("e-7", "approved", {"by": "ada"})
    done = durablec_cli(tmp_path, "run", TARGET, "--run-id", "e-7")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == PAID
    assert effects(tmp_path) == Counter({
        "prepare e-7": 1, "book refused e-7": 1, "book e-7": 1, "ask e-7 120": 1,
        "pay e-7 120 e-7/4": 1,
    })
    with pytest.raises(durablec.errors.UsageError, match="no longer receive"):
        client.send_event("e-7", "approved", {"by": "bob"})


def test_an_unanswered_approval_expires(tmp_path: Path) -> None:
    done = durablec_cli(tmp_path, "run", TARGET, "--args", '["e-8", 30]', "--run-id", "e-8",
                        APPROVAL_TIMEOUT="0")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"expense": "e-8", "ledger": "L-e-8", "status": "expired"}
    assert effects(tmp_path) == Counter({"prepare e-8": 1, "book e-8": 1, "ask e-8 30": 1})
