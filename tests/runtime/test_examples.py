"""The examples run as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_builds_kills_resumes_and_shows_the_timeline(tmp_path: Path) -> None:
    demo = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "killed (exit -9)" in demo.stdout
    assert '"charge_id": "ch_1"' in demo.stdout  # one charge, through retries and the kill
    # The payments server (real HTTP on loopback) was asked again after the kill with the same
    # idempotency key, and made one charge.
    assert "(2 answered 503), charge {\"id\": \"ch_1\"" in demo.stdout
    assert "1 charge made, through the retries and the kill" in demo.stdout
    assert "completed: result {'order_id': 'o-1', 'charge_id': 'ch_1'}" in demo.stdout
    # The killed execution left no record of its end; the resume says so.
    assert "lost: execution 1 ended unrecorded: process killed or lease lost" in demo.stdout
    assert "resumed: execution 2 on" in demo.stdout
    # The task's log lines, kept with the run: one per attempt, none written twice by a replay.
    assert demo.stdout.count("log: INFO orders: charging 4200 for order o-1") == 3
    assert demo.stdout.count("log: INFO orders: charged: ch_1") == 1
    # At 80 columns every line fits, but for file:line (shown in full, to be copied).
    narrow = subprocess.run(
        [sys.executable, "-m", "durablec", "inspect", "demo", "--width", "80"], cwd=tmp_path,
        env={**os.environ, "DURABLEC_DATABASE_URL": f"sqlite:///{tmp_path / 'durablec-demo.db'}"},
        capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line for line in narrow if len(line) > 80 and not line.lstrip().startswith("at ")] == []
    assert "lost: execution 1 ended unrecorded" in "\n".join(narrow)
