"""The journal's schema: tables ``durablec_meta``, ``durablec_runs``, ``durablec_steps`` and
``durablec_events`` (documented for SQL users in docs/schema.md), and its migrations.

Declared with SQLModel; the store's statements use the Core tables (``runs``, ``steps``,
``events``, ``meta``) derived from the classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Index,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.sql.expression import BindParameter
from sqlmodel import Field, SQLModel

__all__ = [
    "MIGRATIONS", "REPLAY_COLUMNS", "SCHEMA_VERSION", "STEP_COLUMNS", "TABLES", "EventRow",
    "MetaRow", "RunRow", "ScheduleRow", "ScheduleSlotRow", "StepRow", "TraceRow", "events", "held",
    "meta", "runs", "schedule_slots", "schedules", "steps", "traces",
]

SCHEMA_VERSION: Final = 3


class MetaRow(SQLModel, table=True):
    __tablename__ = "durablec_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str


class RunRow(SQLModel, table=True):
    """One row per run; ``id`` is the run id."""

    __tablename__ = "durablec_runs"
    __table_args__ = (
        UniqueConstraint("task_id", "idempotency_key", name="uq_durablec_runs_task_idem"),
        Index("ix_durablec_runs_due", "status", "wake_at"),
        Index("ix_durablec_runs_task_status", "task_id", "status"),
        Index("ix_durablec_runs_created", "created_at"),
        Index("ix_durablec_runs_parent", "parent_run_id"),
        Index("ix_durablec_runs_queue", "queue", "status"),
    )

    id: str = Field(primary_key=True, max_length=200)
    task_id: str = Field(max_length=300)
    status: str = Field(max_length=20)
    args: bytes | None = Field(default=None, sa_type=LargeBinary)
    args_repr: str | None = Field(default=None, sa_type=Text)
    result: bytes | None = Field(default=None, sa_type=LargeBinary)
    result_repr: str | None = Field(default=None, sa_type=Text)
    error_type: str | None = None
    error_message: str | None = Field(default=None, sa_type=Text)
    dead_letter: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=300)
    parent_run_id: str | None = Field(default=None, max_length=200)
    module_hash: str | None = None
    wake_at: float | None = None
    waiting_for: str | None = Field(default=None, max_length=300)
    attempt: int = 1
    lease_owner: str | None = None
    lease_host: str | None = None
    lease_pid: int | None = None
    lease_expires_at: float | None = None
    lease_epoch: int = 0
    created_at: float
    updated_at: float
    finished_at: float | None = None
    queue: str | None = Field(default=None, max_length=200)
    concurrency_key: str | None = Field(default=None, max_length=300)


class StepRow(SQLModel, table=True):
    """One row per attempt of a checkpoint; ``final`` marks the outcome replay returns."""

    __tablename__ = "durablec_steps"
    __table_args__ = (Index("ix_durablec_steps_run_key", "run_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    key: str = Field(max_length=1000)
    attempt: int
    retry_of: int | None = None
    kind: str = Field(max_length=20)
    callee: str = Field(sa_type=Text)
    file: str | None = Field(default=None, sa_type=Text)
    line: int
    col: int
    outcome: str = Field(max_length=10)
    final: bool
    args: bytes | None = Field(default=None, sa_type=LargeBinary)
    args_repr: str | None = Field(default=None, sa_type=Text)
    args_digest: str | None = Field(default=None, max_length=64)
    result: bytes | None = Field(default=None, sa_type=LargeBinary)
    result_repr: str | None = Field(default=None, sa_type=Text)
    error_type: str | None = None
    error_message: str | None = Field(default=None, sa_type=Text)
    traceback: str | None = Field(default=None, sa_type=Text)
    http_status: int | None = None
    http_body: str | None = Field(default=None, sa_type=Text)
    started_at: float
    finished_at: float


class EventRow(SQLModel, table=True):
    """An event sent to a run; ``consumed_key`` is the step that received it."""

    __tablename__ = "durablec_events"
    __table_args__ = (Index("ix_durablec_events_run_name", "run_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    name: str = Field(max_length=300)
    payload: bytes | None = Field(default=None, sa_type=LargeBinary)
    payload_repr: str | None = Field(default=None, sa_type=Text)
    consumed_key: str | None = Field(default=None, max_length=1000)
    created_at: float


class ScheduleRow(SQLModel, table=True):
    """A cron schedule: declared by a task (``source='code'``) or added through a Client."""

    __tablename__ = "durablec_schedules"
    __table_args__ = (Index("ix_durablec_schedules_task", "task_id"),)

    id: str = Field(primary_key=True, max_length=150)
    task_id: str = Field(max_length=300)
    source: str = Field(max_length=10)
    cron: str = Field(sa_type=Text)
    timezone: str = Field(max_length=64)
    catchup: str = Field(max_length=10)
    catchup_limit: int
    overlap: bool
    paused: bool
    args: bytes | None = Field(default=None, sa_type=LargeBinary)
    args_repr: str | None = Field(default=None, sa_type=Text)
    last_slot: float
    next_at: float
    last_run_id: str | None = Field(default=None, max_length=200)
    manual_at: float | None = None
    created_at: float
    updated_at: float


class ScheduleSlotRow(SQLModel, table=True):
    """One row per fired slot: the primary key lets a slot start one run, whoever fires it."""

    __tablename__ = "durablec_schedule_slots"

    schedule_id: str = Field(primary_key=True, max_length=150)
    slot_at: float = Field(primary_key=True)
    run_id: str = Field(max_length=200, unique=True)
    manual: bool
    now_key: str | None = Field(default=None, max_length=1000)
    created_at: float


class TraceRow(SQLModel, table=True):
    """The OpenTelemetry trace of a run (runtime/telemetry.py), kept so that every execution, on
    any worker, joins it; ``execution_*`` name the execution in progress, whose span the next
    execution emits if that one never ended (its process was killed). A table of its own:
    ``create_all`` adds it to existing journals without a schema version."""

    __tablename__ = "durablec_traces"

    run_id: str = Field(primary_key=True, max_length=200)
    trace_id: str = Field(max_length=32)
    span_id: str = Field(max_length=16)
    parent_span_id: str | None = Field(default=None, max_length=16)
    trace_flags: int
    created_at: float
    execution_span_id: str | None = Field(default=None, max_length=16)
    execution_started_at: float | None = None
    execution_worker: str | None = Field(default=None, max_length=300)


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel for table=True
    assert isinstance(table, Table)
    return table


runs: Final = _table(RunRow)
steps: Final = _table(StepRow)
events: Final = _table(EventRow)
meta: Final = _table(MetaRow)
schedules: Final = _table(ScheduleRow)
schedule_slots: Final = _table(ScheduleSlotRow)
traces: Final = _table(TraceRow)
TABLES: Final = (meta, runs, steps, events, schedules, schedule_slots, traces)


def held(
    run_id: str | BindParameter[Any], epoch: int | BindParameter[Any]
) -> ColumnElement[bool]:
    """The run's row while its lease epoch is still ``epoch``: the fence on every write a lease
    holder makes to it (a takeover bumps the epoch, so the old holder's writes match nothing)."""
    return and_(runs.c.id == run_id, runs.c.lease_epoch == epoch)


STEP_COLUMNS: Final = tuple(c.name for c in steps.columns if c.name != "id")

REPLAY_COLUMNS: Final = ("id", "key", "attempt", "final", "kind", "callee", "file", "line",
                          "outcome", "result", "args_digest")
"""The columns replay reads, in the order load_steps returns them (not tracebacks or previews)."""

MIGRATIONS: Final[dict[int, Sequence[str]]] = {
    2: (
        "ALTER TABLE durablec_runs ADD COLUMN queue VARCHAR(200)",
        "ALTER TABLE durablec_runs ADD COLUMN concurrency_key VARCHAR(300)",
        "CREATE INDEX ix_durablec_runs_queue ON durablec_runs (queue, status)",
    ),
    # Schedules: only new tables, which create_all makes before the migrations run.
    3: (),
}
"""SQL to bring schema version N-1 to N, by N. Version 1 is the first published schema."""


