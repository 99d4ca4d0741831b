"""Schema version 2 (queues): a version-1 journal file is migrated in place; PostgreSQL gets the
trigger that wakes workers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect, select, text

from durablec.runtime.claim import Claimer
from durablec.runtime.store import SCHEMA_VERSION, Journal
from durablec.runtime.store.schema import meta
from durablec.runtime.lease import Owner
from durablec.runtime.task import Task

V1_SCHEMA = Path(__file__).with_name("v1_schema.sql")


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
    assert SCHEMA_VERSION == 2 and version == "2"
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
