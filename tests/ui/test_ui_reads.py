"""The dashboard's reads (store/browse.py through Client) on a real SQLite journal, without a
browser: filters, search, paging, counts, queue loads and lease holders."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from durablec._ui.waterfall import waterfall
from durablec.runtime import store
from durablec.runtime.client import Client
from durablec.runtime.model import (
    ExecutionInfo,
    LogInfo,
    RunFilter,
    RunInfo,
    RunRecord,
    RunStatus,
    StepInfo,
    StepKind,
    StepOutcome,
    Timeline,
)


def _client(tmp_path: Path) -> Client:
    client = Client(f"sqlite:///{tmp_path / 'j.db'}")
    at = 1_000.0
    rows: list[tuple[str, str, RunStatus, str | None, str | None, str | None]] = [
        ("a1", "alpha", "completed", None, None, None),
        ("a2", "alpha", "failed", "fast", "order-7", None),
        ("b1", "beta", "waiting", "fast", None, "a1"),
        ("b2", "beta", "running", None, None, "a1"),
        ("c_1", "gamma", "pending", "slow", None, None),
    ]
    for n, (run_id, task, status, queue, key, parent) in enumerate(rows):
        record = RunRecord(run_id, task, status, at + n, at + n + 1, queue=queue,
                           idempotency_key=key, parent_run_id=parent)
        assert store.insert_run(client.journal, record._asdict())
    return client


def _ids(client: Client, chosen: RunFilter, **page: int) -> list[str]:
    return [run.id for run in client.browse(chosen, **page).runs]


def test_filters_search_and_paging(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert _ids(client, RunFilter()) == ["c_1", "b2", "b1", "a2", "a1"]
    assert _ids(client, RunFilter(status="failed")) == ["a2"]
    assert _ids(client, RunFilter(task_id="beta", queue="fast")) == ["b1"]
    assert _ids(client, RunFilter(since=1_001.0, until=1_003.0)) == ["b1", "a2"]
    assert _ids(client, RunFilter(search="a")) == ["a2", "a1"]
    assert _ids(client, RunFilter(search="order-7")) == ["a2"]
    assert _ids(client, RunFilter(search="a1")) == ["b2", "b1", "a1"]  # a1 and its children
    assert _ids(client, RunFilter(search="c_")) == ["c_1"]
    assert _ids(client, RunFilter(search="c%")) == []
    first = client.browse(RunFilter(), limit=2)
    assert first.more and [r.id for r in first.runs] == ["c_1", "b2"]
    last = client.browse(RunFilter(), offset=4, limit=2)
    assert not last.more and [r.id for r in last.runs] == ["a1"]


def test_counts_queues_and_workers(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.counts(RunFilter(status="failed")) == {
        "completed": 1, "failed": 1, "waiting": 1, "running": 1, "pending": 1}
    assert client.counts(RunFilter(task_id="beta")) == {"waiting": 1, "running": 1}
    assert {(q.queue, q.task_id, q.status, q.count) for q in client.queue_loads()} == {
        ("fast", "beta", "waiting", 1), (None, "beta", "running", 1),
        ("slow", "gamma", "pending", 1)}
    assert client.workers() == []
    holder = {"lease_owner": "worker-1", "lease_host": "h", "lease_pid": 7,
              "lease_expires_at": time.time() + 30}
    assert store.take_lease(client.journal, "b2", 0, holder, time.time())
    [worker] = client.workers()
    assert (worker.owner, worker.host, worker.pid, worker.runs) == ("worker-1", "h", 7, 1)
    summary = client.summary("a2")
    assert (summary.queue, summary.idempotency_key, summary.attempt) == ("fast", "order-7", 1)
    assert client.task_ids() == ["alpha", "beta", "gamma"]


def test_http_bodies_of_a_run(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.http_bodies("a1") == {}


def test_a_row_failing_its_hmac_is_not_unpickled_and_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tasks.py").write_text(
        "import durablec\n\nasync def step(x):\n    return x\n\n"
        "@durablec.task(id='signed')\nasync def signed(x):\n    return await step(x)\n")
    env = dict(os.environ, DURABLEC_DATABASE_URL=f"sqlite:///{tmp_path / 'j.db'}",
               DURABLEC_SECRET="one", PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-m", "durablec", "run", "tasks.py:signed", "--args",
                           "[3]", "--run-id", "s1"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("DURABLEC_SECRET", "two")
    client = Client(f"sqlite:///{tmp_path / 'j.db'}")
    [reason] = client.refused_payloads("s1").values()
    assert "fails its HMAC check" in reason and "not unpickled" in reason
    monkeypatch.setenv("DURABLEC_SECRET", "one")
    assert client.refused_payloads("s1") == {}
    monkeypatch.setenv("DURABLEC_SECRET", "two")
    from starlette.testclient import TestClient

    from durablec._ui.app import make_app

    http = TestClient(make_app(client), base_url="http://127.0.0.1")
    html = http.get("/runs/s1").text
    assert "not unpickled: journal payload of s1/0/args fails its HMAC check" in html


def test_dead_letter_loads_redrive_and_fork_refusals(tmp_path: Path) -> None:
    client = _client(tmp_path)
    for n, (run_id, task) in enumerate((("d1", "alpha"), ("d2", "alpha"), ("d3", "beta"))):
        record = RunRecord(run_id, task, "dead_lettered", 2_000.0 + n, 2_000.0 + n,
                           dead_letter="dlq")
        assert store.insert_run(client.journal, record._asdict())
    assert [(q.queue, q.task_id, q.count) for q in client.dead_letter_loads()] == [
        ("dlq", "alpha", 2), ("dlq", "beta", 1)]
    from starlette.testclient import TestClient

    from durablec._ui.app import make_app

    http = TestClient(make_app(client), base_url="http://127.0.0.1")
    csrf = http.get("/runs").text.split('name="csrf" content="')[1].split('"')[0]
    headers = {"x-csrf-token": csrf}
    refused = http.post("/api/dead-letters/redrive", json={}, headers=headers)
    assert refused.status_code == 400 and "name the dead-letter queue" in refused.json()["error"]
    redriven = http.post("/api/dead-letters/redrive", json={"queue": "dlq"}, headers=headers)
    assert redriven.json() == {"ok": True, "queue": "dlq", "run_ids": ["d1", "d2", "d3"],
                               "count": 3}
    assert client.dead_letter_loads() == []
    no_key = http.post("/api/runs/a1/fork", json={}, headers=headers)
    assert no_key.status_code == 400
    no_step = http.post("/api/runs/a1/fork", json={"key": "9"}, headers=headers)
    assert no_step.status_code == 409 and "has no step '9'" in no_step.json()["error"]


def _step(step_id: int, key: str, at: float, kind: StepKind = "call",
          outcome: StepOutcome = "ok") -> StepInfo:
    return StepInfo(step_id, key, 1, None, kind, f"f{key}", "t.py", 1, 0, outcome, True, "",
                    None, None, None, None, None, at, at + 0.5)


def test_waterfall_groups_scopes_and_children_and_counts_body_attempts() -> None:
    run = RunInfo("r", "t", "completed", 0.0, 9.0, 9.0, None, None, None, None, None, None,
                  None, None)
    steps = (
        _step(1, "0", 0.0), _step(2, "1.0", 1.0), _step(3, "", 0.0, "body", "error"),
        _step(4, "1.0", 2.0), _step(5, "2:0.0", 3.0), _step(6, "2:0", 3.0, "child"),
        _step(7, "2:1", 3.1, "child"), _step(8, "2", 3.0), _step(9, "1", 2.0),
    )
    flow = waterfall(Timeline(run, steps, ()))
    assert [n.key for n in flow.nodes] == ["0", "1", "2"]
    one, two = flow.nodes[1], flow.nodes[2]
    assert (one.what, [b.step.id for b in one.all_bars()]) == ("helper scope", [9, 2, 4])
    assert two.what == "gather" and [c.key for c in two.children] == ["2:0", "2:1"]
    assert two.children[0].what == "gather/TaskGroup child"
    assert two.children[0].children[0].key == "2:0.0" and two.steps == 4
    first, last = flow.attempts
    assert first.bar is not None and first.bar.step.id == 3 and first.live == ("0", "1.0")
    assert last.bar is None and last.replayed == ("0",) and "1.0" in last.live
    assert flow.ticks()[-1] == (100.0, "9.0 s")  # the first step's start to the run's end


def _log(position: str, at: float, message: str) -> LogInfo:
    return LogInfo(position, 1, at, 20, "t", message, "t.py", 1)


def test_waterfall_executions_lane_and_each_steps_logs() -> None:
    """Epochs 1 and 3 wrote no row (killed): each is marked at the next execution's start; a
    record goes with the step it led to (a retry's with that retry), with the helper scope it was
    written inside, and, when it led to no recorded step, with the failed body attempt."""
    run = RunInfo("r", "t", "completed", 0.0, 10.0, 10.0, None, None, None, None, None, None,
                  None, None)
    steps = (
        _step(1, "0", 1.0), _step(2, "1.0", 2.0), _step(3, "1", 2.0),
        _step(4, "2", 3.0, outcome="error"),
        replace(_step(5, "", 0.0, "body", "error"), finished_at=3.5),
        _step(6, "2", 5.0), _step(7, "3<", 6.0),
    )
    executions = (
        ExecutionInfo(2, "w2", True, 4.0, 4.8, "sleeping", "sleep", 5.0, None, 2, 1),
        ExecutionInfo(4, "w4", True, 8.0, 10.0, "completed", None, None, None, 3, 1),
    )
    logs = (_log("0", 0.9, "before 0"), _log("1.1", 2.2, "inside the helper"),
            _log("2", 4.0, "before the retry"), _log("3", 5.8, "entering"),
            _log("9", 3.2, "led nowhere"))
    flow = waterfall(Timeline(run, steps, (), executions=executions, logs=logs))
    lanes = [(e.first, e.last, e.info is None, e.left, e.width) for e in flow.executions]
    assert lanes == [(1, 1, True, 0.0, 40.0), (2, 2, False, 40.0, 8.0),
                     (3, 3, True, 48.0, 32.0), (4, 4, False, 80.0, 20.0)]
    assert flow.executions[1].label == "execution 2 resumed (2 steps replayed)"
    assert flow.executions[1].title == ("execution 2 resumed (2 steps replayed) on w2; 1 step run "
                                        "live; ended sleeping: sleep")
    assert flow.summary == ("4 executions: 2 ended unrecorded (process killed or lease lost), "
                            "resumed 2× (5 steps replayed)")
    assert {i: [log.message for log in found] for i, found in flow.logs.items()} == {
        0: ["before 0"], 2: ["inside the helper"], 5: ["before the retry"], 6: ["entering"],
        4: ["led nowhere"]}
