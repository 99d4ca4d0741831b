"""Results over DURABLEC_LAZY_PAYLOAD bytes (256 KiB by default, which these tests use) are stored
in ``durablec_payloads``, apart from their step rows (and a run's own result from its run row): replay reads each when it reaches its step;
listings, ``inspect``, the timeline and the dashboard never read them; a fork, an exported history
and a journal of schema version 5 keep them; a lost lease writes neither row. On a real SQLite
file and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event, func, select, text, update
from starlette.testclient import TestClient

import durablec
from durablec._ui.app import make_app
from durablec.cli import main
from durablec.errors import RunSuspendedError, SerializationError
from durablec.runtime.client import Client
from durablec.runtime.history import export_history, read_history, replay_history
from durablec.runtime.runner import journal_for
from durablec.runtime.store import Journal, insert_run_rows
from durablec.runtime.store.schema import (
    LAZY_PAYLOAD_DEFAULT,
    RUN_RESULT,
    meta,
    payloads,
    runs,
    steps,
)
from durablec.runtime.worker import work
from helpers import Loader, kill_when

BIG = LAZY_PAYLOAD_DEFAULT + 50_000

FLOWS = f"""
import durablec
from durablec import task

async def blob(i, size):
    return bytes([i]) * size

@task(id="blobs")
async def blobs():
    first = await blob(1, {BIG})
    small = await blob(2, 10)
    await durablec.wait_for_event("go")
    second = await blob(3, {BIG})
    return [len(first), first[0], len(small), len(second), second[0]]
"""

DONE = [BIG, 1, 10, BIG, 3]


def _placement(journal: Journal, run_id: str) -> dict[str, tuple[bool, int | None]]:
    """Per step key: whether its row holds the result, and the size stored apart (or None)."""
    with journal.begin() as conn:
        rows = conn.execute(
            select(steps.c.key, steps.c.result.is_not(None), func.length(payloads.c.result))
            .select_from(steps.outerjoin(payloads, payloads.c.step_id == steps.c.id))
            .where(steps.c.run_id == run_id, steps.c.final))
        return {key: (bool(inline), size) for key, inline, size in rows}


def _run_to_the_wait(load: Loader, db_url: str, run_id: str) -> Any:
    mod = load(FLOWS)
    with pytest.raises(RunSuspendedError):
        durablec.run(mod.blobs, db=db_url, run_id=run_id)
    return mod


def _finish(mod: Any, db_url: str, run_id: str) -> list[Any]:
    Client(db_url).send_event(run_id, "go")
    outcomes = asyncio.run(work(db_url, [mod.blobs], until_idle=True))
    return [(o.run_id, o.status, o.result) for o in outcomes]


def test_a_large_result_is_stored_apart_and_replay_reads_it(load: Loader, db_url: str) -> None:
    mod = _run_to_the_wait(load, db_url, "a1")
    journal = journal_for(db_url)
    placed = _placement(journal, "a1")
    assert placed["0"][0] is False and (placed["0"][1] or 0) > LAZY_PAYLOAD_DEFAULT
    assert placed["1"] == (True, None)  # a small result stays in its row
    with journal.begin() as conn:
        owners = conn.execute(select(payloads.c.run_id)).scalars().all()
    assert owners == ["a1"]
    # The resume replays steps 0 and 1 (reading 0 from durablec_payloads) and runs 3 live.
    assert _finish(mod, db_url, "a1") == [("a1", "completed", DONE)]
    placed = _placement(journal, "a1")
    assert placed["3"][0] is False and (placed["3"][1] or 0) > LAZY_PAYLOAD_DEFAULT


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process executes meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)
    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _reading_payloads(seen: list[str]) -> list[str]:
    return [statement for statement in seen if "durablec_payloads" in statement]


def test_listings_inspect_timeline_and_dashboard_never_read_payloads(
    load: Loader, db_url: str
) -> None:
    mod = _run_to_the_wait(load, db_url, "v1")
    assert _finish(mod, db_url, "v1") == [("v1", "completed", DONE)]
    client = Client(db_url)
    cli = CliRunner()
    dashboard = TestClient(make_app(client), base_url="http://127.0.0.1")
    with _statements() as seen:
        assert [run.id for run in client.runs()] == ["v1"]
        assert client.get("v1").status == "completed"
        timeline = client.timeline("v1")
        shown = cli.invoke(main, ["inspect", "v1", "--json", "--db", db_url])
        assert cli.invoke(main, ["inspect", "v1", "--db", db_url]).exit_code == 0
        assert cli.invoke(main, ["runs", "--db", db_url]).exit_code == 0
        for page in ("/runs", "/runs/v1", "/api/runs", "/api/runs/v1", "/api/runs/v1/timeline"):
            assert dashboard.get(page).status_code == 200, page
    assert seen and _reading_payloads(seen) == []
    # They show the preview recorded in the step row, not the value.
    big = next(step for step in timeline.steps if step.key == "0")
    assert big.result_value is None and (big.result or "").startswith("b'\\x01")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["steps"][0]["result"] == big.result
    # The check can fail: replay reaching the step does read the table.
    journal = journal_for(db_url)
    with _statements() as seen, journal.begin() as conn:
        assert journal.load_result(conn, big.id) is not None
    assert _reading_payloads(seen)


RETURNS = f"""
from durablec import Retry, task

async def blob(i, size):
    return bytes([i]) * size

@task(id="returns-big")
async def returns_big():
    return await blob(7, {BIG})

@task(id="fails-big", retry=Retry.none())
async def fails_big():
    await blob(1, 10)
    raise ValueError(bytes([9]) * {BIG})
"""


def _apart_of(journal: Journal, run_id: str) -> tuple[Any, list[int]]:
    """The run row's result column, and the step ids of the run's payloads stored apart."""
    with journal.begin() as conn:
        in_row = conn.execute(select(runs.c.result).where(runs.c.id == run_id)).scalar()
        ids = conn.execute(select(payloads.c.step_id).where(payloads.c.run_id == run_id)
                           .order_by(payloads.c.step_id)).scalars().all()
    return in_row, list(ids)


def test_a_large_run_result_is_stored_apart_and_read_for_its_outcome(
    load: Loader, db_url: str
) -> None:
    mod = load(RETURNS)
    value = bytes([7]) * BIG
    assert durablec.run(mod.returns_big, db=db_url, run_id="r1") == value
    journal = journal_for(db_url)
    in_row, ids = _apart_of(journal, "r1")
    assert in_row is None and ids[0] == RUN_RESULT and len(ids) == 2  # the run's and its step's
    client = Client(db_url)
    with _statements() as seen:
        assert client.get("r1").result_repr == client.timeline("r1").steps[0].result  # previews
        assert [run.id for run in client.runs()] == ["r1"]
    assert _reading_payloads(seen) == []
    # The outcome of the finished run is read from durablec_payloads.
    assert durablec.run(mod.returns_big, db=db_url, run_id="r1") == value
    assert asyncio.run(client.handle("r1").result()) == value
    with pytest.raises(ValueError):
        durablec.run(mod.fails_big, db=db_url, run_id="r2")
    with pytest.raises(ValueError) as again:
        durablec.run(mod.fails_big, db=db_url, run_id="r2")
    assert again.value.args == (bytes([9]) * BIG,)
    in_row, ids = _apart_of(journal, "r2")
    assert in_row is None and ids[0] == RUN_RESULT and len(ids) == 2  # the run's, the body row's
    client.retry("r2")  # the run's recorded exception goes with its failure; the row's stays
    assert _apart_of(journal, "r2") == (None, ids[1:])


def test_a_fork_copies_the_results_stored_apart(
    load: Loader, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Signed payloads: a copy that was not re-signed for the new run id would not load.
    monkeypatch.setenv("DURABLEC_SECRET", "fork-secret")
    mod = _run_to_the_wait(load, db_url, "f1")
    assert _finish(mod, db_url, "f1") == [("f1", "completed", DONE)]
    forked = Client(db_url).fork("f1", "3")
    journal = journal_for(db_url)
    placed = _placement(journal, forked.id)
    assert placed["0"][0] is False and (placed["0"][1] or 0) > LAZY_PAYLOAD_DEFAULT
    assert "3" not in placed
    outcomes = asyncio.run(work(db_url, [mod.blobs], until_idle=True))
    assert [(o.run_id, o.status, o.result) for o in outcomes] == [(forked.id, "completed", DONE)]
    assert _placement(journal, "f1")["0"] == placed["0"]  # the original keeps its own


def test_an_exported_history_holds_the_results_and_imports_them_apart(
    load: Loader, db_url: str, tmp_path: Path
) -> None:
    mod = _run_to_the_wait(load, db_url, "h1")
    assert _finish(mod, db_url, "h1") == [("h1", "completed", DONE)]
    document = export_history(Client(db_url), "h1")
    exported = {row["key"]: row["result"] for row in document["steps"]}
    assert exported["0"] is not None and exported["3"] is not None
    path = tmp_path / "h1.json"
    path.write_text(json.dumps(document))
    history = read_history(path)
    assert replay_history(history, mod.blobs) is None  # replays with every result
    scratch = Journal(f"sqlite:///{tmp_path / 'scratch.db'}")
    insert_run_rows(scratch, history.rows)
    placed = _placement(scratch, "h1")
    assert placed["0"][0] is False and placed["0"][1] == _placement(journal_for(db_url), "h1")["0"][1]
    assert placed["1"] == (True, None)
    # A run's own large result travels in the history's run row, and is stored apart again.
    returning = load(RETURNS)
    assert durablec.run(returning.returns_big, db=db_url, run_id="h2") == bytes([7]) * BIG
    document = export_history(Client(db_url), "h2")
    assert len(document["run"]["result"]["base64"]) > BIG
    path.write_text(json.dumps(document))
    history = read_history(path)
    assert replay_history(history, returning.returns_big) is None
    insert_run_rows(scratch, history.rows)
    in_row, ids = _apart_of(scratch, "h2")
    assert in_row is None and ids[0] == RUN_RESULT and len(ids) == 2


def _downgrade_to_version_5(url: str) -> None:
    """Make the journal what durablec wrote at schema version 5: the same tables but
    durablec_payloads, every result in its step row."""
    journal = Journal(url)
    with journal.begin() as conn:
        assert conn.execute(select(func.count()).select_from(payloads)).scalar() == 0
        conn.execute(text("DROP TABLE durablec_payloads"))
        conn.execute(update(meta).where(meta.c.key == "schema_version").values(value="5"))
    journal.close()


def _cli(tmp: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durablec", *args], cwd=tmp, capture_output=True, text=True,
        env={**os.environ, "DURABLEC_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1", **env},
        check=False)


def test_a_version_5_journal_moves_its_large_results_apart_and_replays(
    load: Loader, db_url: str, tmp_path: Path
) -> None:
    (tmp_path / "tasks.py").write_text(FLOWS + RETURNS)
    # Written as version 5 wrote them: the threshold raised, every result stays in its row.
    for target, run_id, code in (("blobs", "old", 3), ("returns_big", "ret", 0)):
        made = _cli(tmp_path, db_url, "run", f"tasks.py:{target}", "--run-id", run_id,
                    DURABLEC_LAZY_PAYLOAD=str(10**9))
        assert made.returncode == code, made.stderr
    _downgrade_to_version_5(db_url)
    journal = journal_for(db_url)  # opening it migrates
    with journal.begin() as conn:
        version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    assert version == "6"
    placed = _placement(journal, "old")
    assert placed["0"][0] is False and (placed["0"][1] or 0) > LAZY_PAYLOAD_DEFAULT
    assert placed["1"] == (True, None)
    in_row, ids = _apart_of(journal, "ret")
    assert in_row is None and ids[0] == RUN_RESULT and len(ids) == 2
    assert _finish(load(FLOWS), db_url, "old") == [("old", "completed", DONE)]
    assert durablec.run(load(RETURNS).returns_big, db=db_url, run_id="ret") == bytes([7]) * BIG


def test_a_step_row_and_its_payload_are_fenced_together(db_url: str) -> None:
    journal = Journal(db_url)
    with journal.begin() as conn:
        conn.execute(runs.insert().values(id="r", task_id="t", status="running", lease_epoch=3,
                                          created_at=0.0, updated_at=0.0))

    def attempt(key: str, epoch: int) -> dict[str, Any]:
        values: dict[str, Any] = {name: None for name in steps.c.keys() if name != "id"}
        values.update(run_id="r", key=key, attempt=1, kind="call", callee="f", line=1, col=0,
                      outcome="ok", final=True, result=b"P" + b"x" * BIG, started_at=0.0,
                      finished_at=0.0, fence_run="r", fence_epoch=epoch)
        return values
    # The group commit's own batch: on PostgreSQL the pipeline, whose results come at the commit.
    batch = journal.backend.batches(journal.engine)
    batch.begin()
    stale = journal.insert_step(batch, attempt("0", 2))
    fresh = journal.insert_step(batch, attempt("1", 3))
    batch.commit()
    assert stale() is None  # a stale holder writes nothing
    written = fresh()
    batch.close()
    with journal.begin() as conn:
        stored = conn.execute(select(payloads.c.step_id, func.length(payloads.c.result))).all()
        assert [tuple(row) for row in stored] == [(written, BIG + 1)]
        assert journal.load_result(conn, written or 0) == b"P" + b"x" * BIG


def test_a_result_over_the_payload_limit_is_still_refused(
    load: Loader, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DURABLEC_MAX_PAYLOAD", str(LAZY_PAYLOAD_DEFAULT + 1000))
    mod = load(FLOWS)
    with pytest.raises(SerializationError,
                       match=r"over the DURABLEC_MAX_PAYLOAD limit of 263144 bytes"):
        durablec.run(mod.blobs, db=db_url, run_id="m1")
    assert _placement(journal_for(db_url), "m1") == {}


CRASHING = """
import os
import durablec

LOG = os.environ["CRASH_LOG"]

async def blob(i):
    with open(LOG, "a") as out:  # durablec: allow[DC402] (test instrumentation)
        out.write(f"start {i}\\n")
    if i == 20 and os.environ.get("CRASH") == "1":  # durablec: allow[DC401]
        import asyncio
        await asyncio.Event().wait()  # held in flight until the process is killed
    return bytes([i]) * (1 << 20)

@durablec.task(id="many")
async def many(n):
    total = 0
    for i in range(n):
        got = await blob(i)
        total += len(got) * got[0]
    return total
"""


MEASURED = """
import resource, sys
from durablec.cli import main
try:
    main(sys.argv[1:])
finally:
    print(f"PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def _peak_rss_mb(tmp: Path, url: str, *args: str, **env: str) -> tuple[Any, float]:
    """``durablec ARGS`` in a process of its own: its output, and its peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, *args], cwd=tmp, capture_output=True, text=True,
        env={**os.environ, "DURABLEC_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1", **env},
        check=False)
    assert done.returncode == 0, done.stderr
    peak = next(line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB"))
    return json.loads(done.stdout), int(peak.split()[1]) / 1024


def test_sigkill_amid_large_results_then_recovery(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(CRASHING)
    log = tmp_path / "log"
    args = ("run", "tasks.py:many", "--args", "[40]", "--run-id", "K")
    env = {"CRASH_LOG": str(log)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "durablec", *args], cwd=tmp_path, text=True,
        env={**os.environ, "DURABLEC_DATABASE_URL": db_url, "CRASH": "1", **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kill_when(proc, lambda: log.exists() and "start 20" in log.read_text(), "step 20")
    journal = journal_for(db_url)
    with journal.begin() as conn:
        assert conn.execute(select(func.count()).select_from(payloads)).scalar() == 20
    # The same process with a run of one step: what a resume costs beyond it is its payloads.
    _, alone = _peak_rss_mb(tmp_path, db_url, "run", "tasks.py:many", "--args", "[1]", **env)
    result, resumed = _peak_rss_mb(tmp_path, db_url, *args, **env)
    assert result == sum(i << 20 for i in range(40))
    # One result at a time (and its pickle), not the 20 MiB replayed nor the 40 MiB recorded.
    assert resumed - alone < 6, (resumed, alone)
    starts = log.read_text().splitlines()
    assert starts.count("start 20") == 2 and starts.count("start 19") == 1  # replayed, not rerun
    placed = _placement(journal, "K")
    assert len(placed) == 40 and all(not inline and size for inline, size in placed.values())
