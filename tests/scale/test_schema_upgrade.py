"""Schema migrations: a version-1 journal file (before queues) and a version-2 file (before
schedules) are migrated in place; PostgreSQL gets the trigger that wakes workers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect, select, text

from durablec.runtime.claim import Claimer
from durablec.runtime.store import SCHEMA_VERSION, Journal
from durablec.runtime.store.schema import TABLES, meta, runs
from durablec.runtime.scheduler import Firer, list_schedules
from durablec.runtime.lease import Owner
from durablec.runtime.task import Task

V1_SCHEMA = Path(__file__).with_name("v1_schema.sql")
V2_SCHEMA = Path(__file__).with_name("v2_schema.sql")


async def _noop() -> None:
    return None


def test_a_version_1_journal_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA.read_text())
        db.execute(
            "INSERT INTO durablec_runs (id, task_id, status, attempt, lease_epoch, created_at, "
            "updated_at) VALUES ('old', 'legacy', 'pending', 1, 0, 1.0, 1.0)"
        )
    journal = Journal(f"sqlite:///{path}")
    with journal.begin() as conn:
        version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    assert version == str(SCHEMA_VERSION)
    inspector = inspect(journal.engine)
    columns = {column["name"] for column in inspector.get_columns("durablec_runs")}
    assert {"queue", "concurrency_key"} <= columns
    assert "ix_durablec_runs_queue" in {ix["name"] for ix in inspector.get_indexes("durablec_runs")}
    # The run recorded before the upgrade is still there, on no queue, and a worker claims it.
    claimed = Claimer(journal, Owner.here(), [Task(_noop, id="legacy")]).claim(5)
    assert [(row.id, row.queue, epoch) for row, epoch in claimed] == [("old", None, 1)]
    journal.close()
    Journal(f"sqlite:///{path}").close()  # opening the migrated journal again changes nothing


def test_postgres_journal_has_the_wakeup_trigger(postgres_url: str) -> None:
    journal = Journal(postgres_url)
    with journal.begin() as conn:
        found = conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'durablec_runs'::regclass "
            "AND NOT tgisinternal")).scalars().all()
    assert found == ["durablec_runs_due"]


def test_a_version_2_journal_file_gains_the_schedule_tables(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as db:
        db.executescript(V2_SCHEMA.read_text())
        db.execute(
            "INSERT INTO durablec_runs (id, task_id, status, attempt, lease_epoch, created_at, "
            "updated_at) VALUES ('old', 'legacy', 'completed', 1, 0, 1.0, 1.0)"
        )
    journal = Journal(f"sqlite:///{path}")
    with journal.begin() as conn:
        version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        assert conn.execute(select(runs.c.status).where(runs.c.id == "old")).scalar() == "completed"
    assert version == str(SCHEMA_VERSION)
    tables = set(inspect(journal.engine).get_table_names())
    # Every table the journal has today, the version-3+ ones (schedules, executions, logs) too.
    assert {table.name for table in TABLES} <= tables
    # The new tables work: a worker declares a task's schedule and fires its slot.
    ticking = Task(_noop, id="ticking", cron="0 * * * *")
    clock = [7200.5]
    firer = Firer(journal, [ticking], clock=lambda: clock[0])
    assert firer.fire() == [] and [s.next_at for s in list_schedules(journal)] == [10800.0]
    clock[0] = 10801.0
    assert firer.fire() == ["schedule:ticking@1970-01-01T03:00:00Z"]
    journal.close()
    Journal(f"sqlite:///{path}").close()  # opening the migrated journal again changes nothing
