"""Group commit: concurrent runs share transactions, and a failed transaction fails every writer.

On a real SQLite file and a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
import tempfile
from typing import Any

from psycopg import pq
from sqlalchemy import Connection, bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError

import durablec
from durablec.runtime.model import ExecutionInfo
from durablec.runtime.store import Journal, finish_write
from durablec.runtime.store.logs import step_with_logs
from durablec.runtime.store.schema import STEP_COLUMNS, executions, logs, runs, steps
from durablec.runtime.runner import journal_for

from helpers import Loader

TASK = """
import durablec

async def double(x):
    return 2 * x

@durablec.task(id="three-steps")
async def three(x):
    a = await double(x)
    b = await double(a)
    return await double(b)
"""


def _step(key: str) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(STEP_COLUMNS)
    values.update(run_id="r", key=key, attempt=1, kind="call", callee="f", line=1, col=0,
                  outcome="ok", final=True, started_at=1.0, finished_at=2.0,
                  fence_run="r", fence_epoch=1)
    return values


def _journal_with_run(db_url: str) -> Journal:
    journal = Journal(db_url)
    with journal.begin() as conn:
        conn.execute(insert(runs).values(id="r", task_id="t", status="running", lease_epoch=1,
                                         created_at=0.0, updated_at=0.0))
    return journal


def _keys(journal: Journal) -> list[str]:
    with journal.begin() as conn:
        return list(conn.execute(select(steps.c.key).order_by(steps.c.id)).scalars())


def test_concurrent_runs_share_commits(db_url: str, load: Loader) -> None:
    module = load(TASK)
    commits: list[object] = []
    event.listen(journal_for(db_url).engine, "commit", commits.append)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(durablec.arun(module.three, i, db=db_url)
                                           for i in range(20))))

    assert asyncio.run(main()) == [8 * i for i in range(20)]
    assert len(_keys(journal_for(db_url))) == 60
    # 20 run rows, 60 steps and 20 final states: one commit each would be 100.
    assert len(commits) < 20, len(commits)


def test_a_write_is_committed_before_it_returns(db_url: str) -> None:
    journal = _journal_with_run(db_url)
    other = Journal(db_url)  # another engine: sees only what is committed

    async def main() -> list[str]:
        with journal.writing() as writer:
            await writer.write(lambda conn: journal.insert_step(conn, _step("0")))
            return _keys(other)

    assert asyncio.run(main()) == ["0"]


def test_a_failed_commit_fails_every_writer_and_records_nothing(db_url: str) -> None:
    journal = _journal_with_run(db_url)
    armed = [True]

    @event.listens_for(journal.engine, "commit")
    def fail_once(conn: Connection) -> None:
        if armed:
            armed.clear()
            raise RuntimeError("injected commit failure")

    def write(key: str) -> Any:
        return lambda conn: journal.insert_step(conn, _step(key))

    async def main() -> tuple[list[Any], int | None]:
        with journal.writing() as writer:
            first = await asyncio.gather(*(writer.write(write(str(i))) for i in range(5)),
                                         return_exceptions=True)
            later: int | None = await writer.write(write("later"))
        return first, later

    first, later = asyncio.run(main())
    assert [type(result) for result in first] == [RuntimeError] * 5
    assert later is not None  # the next batch runs on a fresh connection
    assert _keys(journal) == ["later"]


def _write_step(journal: Journal, key: str, epoch: int = 1) -> Any:
    return lambda batch: journal.insert_step(batch, {**_step(key), "fence_epoch": epoch})


def test_a_lost_lease_is_seen_per_write_in_one_batch(db_url: str) -> None:
    """Fencing inside one batch (on PostgreSQL, one pipeline): each write learns its own outcome,
    and a fenced step's log rows and a fenced run's end are not written."""
    journal = _journal_with_run(db_url)
    log_row = {"run_id": "r", "position": "0", "attempt": 1, "at": 1.0, "level": 20,
               "logger": "t", "message": "m", "file": None, "line": None}
    ended = ExecutionInfo(epoch=2, worker="w", resumed=False, started_at=1.0, ended_at=2.0,
                          status="completed", reason=None, wake_at=None, waiting_for=None,
                          replayed=0, live=1)

    async def main() -> list[Any]:
        with journal.writing() as writer:
            return list(await asyncio.gather(
                writer.write(_write_step(journal, "kept")),
                writer.write(_write_step(journal, "fenced", epoch=2)),
                writer.write(step_with_logs(journal, {**_step("logged"), "fence_epoch": 2},
                                            [log_row])),
                writer.write(finish_write(journal, "r", 2, {"status": "completed"}, ended, [])),
                writer.write(_write_step(journal, "also kept")),
            ))

    kept, fenced, logged, finished, also = asyncio.run(main())
    assert isinstance(kept, int) and isinstance(also, int) and also > kept
    assert (fenced, logged, finished) == (None, None, False)
    assert _keys(journal) == ["kept", "also kept"]
    with journal.begin() as conn:
        assert conn.execute(select(func.count()).select_from(logs)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(executions)).scalar() == 0
        assert conn.execute(select(runs.c.status)).scalar() == "running"


def test_a_failed_statement_fails_the_whole_batch(db_url: str) -> None:
    """A statement that fails among others (on PostgreSQL: inside the pipeline, seen only at
    the commit) fails every writer of the batch and records nothing; the next batch works."""
    journal = _journal_with_run(db_url)
    bad = {**_step("bad"), "kind": None}  # NOT NULL

    def invalid(batch: Any) -> Any:
        return journal.insert_step(batch, bad)

    async def main() -> tuple[list[Any], int | None]:
        with journal.writing() as writer:
            first = await asyncio.gather(
                writer.write(_write_step(journal, "0")), writer.write(invalid),
                writer.write(_write_step(journal, "1")), return_exceptions=True)
            later: int | None = await writer.write(_write_step(journal, "later"))
        return first, later

    first, later = asyncio.run(main())
    assert [type(result) for result in first] == [IntegrityError] * 3
    assert later is not None
    assert _keys(journal) == ["later"]


def test_a_batch_is_one_round_trip_on_postgresql(postgres_url: str) -> None:
    """Every write of a batch and its COMMIT reach the server together: one Sync, one answer
    (counted in libpq's protocol trace of the committer's connection)."""
    journal = _journal_with_run(postgres_url)
    trace = tempfile.TemporaryFile("w+")

    @event.listens_for(journal.engine, "checkout")
    def traced(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.pgconn.trace(trace.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    @event.listens_for(journal.engine, "checkin")
    def untraced(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.pgconn.untrace()  # flushes libpq's buffered trace

    async def main() -> None:
        with journal.writing() as writer:
            for batch in range(3):
                await asyncio.gather(*(writer.write(_write_step(journal, f"{batch}.{index}"))
                                       for index in range(4)))

    asyncio.run(main())
    event.remove(journal.engine, "checkout", traced)
    assert len(_keys(journal)) == 12
    trace.seek(0)
    answers = [line for line in trace if "\tReadyForQuery\t" in line and line.startswith("B")]
    # One per batch, and one as the committer leaves pipeline mode to return the connection.
    assert len(answers) == 3 + 1, answers


def test_a_batch_whose_answers_all_arrived_before_its_commit_is_committed(db_url: str) -> None:
    """When every answer of a pipelined batch has arrived before the COMMIT (here a write reads
    its result early; in production a server that flushed a full buffer), libpq reports the
    last Sync's idle status and psycopg's commit() alone would send no COMMIT."""
    journal = _journal_with_run(db_url)
    other = Journal(db_url)  # another engine: sees only what is committed

    def early(batch: Any) -> Any:
        step_id = journal.insert_step(batch, _step("early"))()
        return lambda: step_id

    async def main() -> list[str]:
        with journal.writing() as writer:
            await writer.write(early)
            return _keys(other)

    assert asyncio.run(main()) == ["early"]


def test_a_row_count_read_before_the_commit_is_waited_for(db_url: str) -> None:
    """A write that needs a row count before the commit gets the true one (on PostgreSQL at the
    cost of a Sync), never the pipeline's -1, and its batch still commits."""
    journal = _journal_with_run(db_url)
    touch = journal.prepare(("test_touch",), lambda: update(runs).where(
        runs.c.id == bindparam("run")).values(updated_at=bindparam("at")))

    def write(run_id: str) -> Any:
        def op(batch: Any) -> Any:
            count = touch.send(batch, {"run": run_id, "at": 5.0}).rowcount
            return lambda: count
        return op

    async def main() -> list[int]:
        with journal.writing() as writer:
            return list(await asyncio.gather(writer.write(write("r")), writer.write(write("x"))))

    assert asyncio.run(main()) == [1, 0]
    with Journal(db_url).begin() as conn:
        assert conn.execute(select(runs.c.updated_at)).scalar() == 5.0
