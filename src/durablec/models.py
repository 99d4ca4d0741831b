"""SQLModel classes of the journal's tables, for users who query the journal from Python.

The runtime declares the tables with SQLAlchemy Core (``durablec.runtime.store.schema``) and
never imports this module; these classes describe the same tables (a test compares their DDL
with the runtime's on SQLite and PostgreSQL), in their own ``MetaData`` so that creating a
user's own SQLModel tables never creates or alters the journal's::

    from sqlmodel import Session, create_engine, select
    from durablec.models import RunRow

    with Session(create_engine("sqlite:///durablec.db")) as session:
        failed = session.exec(select(RunRow).where(RunRow.status == "failed")).all()

Treat the journal as read-only: the runtime's leases and fencing assume it is the only writer.
The columns are documented in docs/schema.md.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Index, LargeBinary, MetaData, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "EventRow", "ExecutionRow", "JournalModel", "LogRow", "MetaRow", "PayloadRow", "RunRow",
    "ScheduleRow", "ScheduleSlotRow", "StepRow", "TraceRow",
]


class JournalModel(SQLModel):
    """The base of the journal's classes: their own metadata, apart from ``SQLModel.metadata``."""

    metadata: ClassVar[MetaData] = MetaData()


class MetaRow(JournalModel, table=True):
    __tablename__ = "durablec_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str


class RunRow(JournalModel, table=True):
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


class StepRow(JournalModel, table=True):
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


class EventRow(JournalModel, table=True):
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


class ScheduleRow(JournalModel, table=True):
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


class ScheduleSlotRow(JournalModel, table=True):
    """One row per fired slot: the primary key lets a slot start one run, whoever fires it."""

    __tablename__ = "durablec_schedule_slots"

    schedule_id: str = Field(primary_key=True, max_length=150)
    slot_at: float = Field(primary_key=True)
    run_id: str = Field(max_length=200, unique=True)
    manual: bool
    now_key: str | None = Field(default=None, max_length=1000)
    created_at: float


class TraceRow(JournalModel, table=True):
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



class ExecutionRow(JournalModel, table=True):
    """One execution of a run that ended on its own: who ran it, when, and how it ended."""

    __tablename__ = "durablec_executions"
    __table_args__ = (Index("ix_durablec_executions_run", "run_id", "epoch"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    epoch: int
    worker: str = Field(max_length=300)
    resumed: bool
    started_at: float
    ended_at: float
    status: str = Field(max_length=20)
    reason: str | None = Field(default=None, sa_type=Text)
    wake_at: float | None = None
    waiting_for: str | None = Field(default=None, max_length=300)
    replayed: int
    live: int


class LogRow(JournalModel, table=True):
    """A record the task's code wrote with ``logging`` (or ``print``, when captured)."""

    __tablename__ = "durablec_logs"
    __table_args__ = (Index("ix_durablec_logs_run", "run_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=200)
    position: str = Field(max_length=1000)
    attempt: int
    at: float
    level: int
    logger: str = Field(max_length=300)
    message: str = Field(sa_type=Text)
    file: str | None = Field(default=None, sa_type=Text)
    line: int | None = None


class PayloadRow(JournalModel, table=True):
    """A result over DURABLEC_LAZY_PAYLOAD bytes, stored apart from its ``StepRow`` (``step_id``)
    or, with ``step_id`` 0, its run's ``RunRow``; that row's ``result`` is then None."""

    __tablename__ = "durablec_payloads"

    run_id: str = Field(primary_key=True, max_length=200)
    step_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    result: bytes = Field(sa_type=LargeBinary)
