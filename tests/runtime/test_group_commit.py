"""Group commit: concurrent runs share transactions, and a failed transaction fails every writer.

On a real SQLite file and a real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection, event, insert, select

import durablec
from durablec.runtime.store import Journal
from durablec.runtime.store.schema import STEP_COLUMNS, runs, steps
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
