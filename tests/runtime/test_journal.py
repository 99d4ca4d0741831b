"""The journal schema, its database setup and its fenced hot path, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, update

from durablec.errors import JournalError
from durablec.runtime.store import SCHEMA_VERSION, Journal, database_url, run_counts
from durablec.runtime.store.batch import Batch
from durablec.runtime.store.schema import STEP_COLUMNS, meta, runs


def test_tables_indexes_and_version(db_url: str) -> None:
    journal = Journal(db_url)
    inspector = inspect(journal.engine)
    tables = set(inspector.get_table_names())
    assert {"durablec_runs", "durablec_steps", "durablec_events", "durablec_meta"} <= tables
    run_indexes = {ix["name"] for ix in inspector.get_indexes("durablec_runs")}
    assert {"ix_durablec_runs_due", "ix_durablec_runs_task_status"} <= run_indexes
    step_indexes = {ix["name"] for ix in inspector.get_indexes("durablec_steps")}
    assert "ix_durablec_steps_run_key" in step_indexes
    with journal.begin() as conn:
        version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    assert version == str(SCHEMA_VERSION)
    Journal(db_url)  # opening an existing journal again is a no-op


def test_sqlite_is_wal_with_normal_sync(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(sqlite_url)
    with journal.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    monkeypatch.setenv("DURABLEC_SQLITE_SYNCHRONOUS", "FULL")
    with Journal(sqlite_url).engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_newer_schema_is_refused(sqlite_url: str) -> None:
    journal = Journal(sqlite_url)
    with journal.begin() as conn:
        conn.execute(update(meta).values(value=str(SCHEMA_VERSION + 1)))
    with pytest.raises(JournalError, match="newer than this durablec"):
        Journal(sqlite_url)


def test_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DURABLEC_DATABASE_URL", raising=False)
    assert database_url(None) == "sqlite:///./durablec.db"
    assert database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    monkeypatch.setenv("DURABLEC_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    assert database_url(None) == f"sqlite:///{tmp_path}/x.db"


def _step(run_id: str, epoch: int) -> dict[str, object]:
    values: dict[str, object] = dict.fromkeys(STEP_COLUMNS)
    values.update(run_id=run_id, key="0", attempt=1, kind="call", callee="f", line=1, col=0,
                  outcome="ok", final=True, started_at=1.0, finished_at=2.0,
                  fence_run=run_id, fence_epoch=epoch)
    return values


def test_step_insert_is_fenced_by_lease_epoch(db_url: str) -> None:
    journal = Journal(db_url)
    with journal.begin() as conn:
        conn.execute(runs.insert().values(id="r", task_id="t", status="running", lease_epoch=3,
                                          created_at=0.0, updated_at=0.0))
    with journal.engine.connect() as conn:
        batch = Batch(conn)
        assert journal.insert_step(batch, _step("r", 3))() is not None
        assert journal.insert_step(batch, _step("r", 2))() is None  # a stale holder writes nothing
        assert len(list(journal.load_steps(conn, "r"))) == 1


def test_runs_due_for_a_worker_count_retrying_ones_past_their_wake_time(db_url: str) -> None:
    """The queue-depth gauge counts what claim_due takes: a retry backoff that has elapsed too."""
    journal = Journal(db_url)
    with journal.begin() as conn:
        for run_id, status, wake_at in (("a", "retrying", 1.0), ("b", "retrying", 4e9),
                                        ("c", "sleeping", 1.0), ("d", "pending", None)):
            conn.execute(runs.insert().values(id=run_id, task_id="t", status=status,
                                              wake_at=wake_at, created_at=0.0, updated_at=0.0))
    due = {count.status: count.due for count in run_counts(journal)}
    assert due == {"retrying": 1, "sleeping": 1, "pending": 1}
