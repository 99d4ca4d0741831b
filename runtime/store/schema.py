"""The journal's schema: tables ``durablec_meta``, ``durablec_runs``, ``durablec_steps``,
``durablec_events``, ``durablec_schedules``, ``durablec_schedule_slots``, ``durablec_traces``, ``durablec_executions``,
``durablec_logs`` and ``durablec_payloads`` (documented for SQL users in docs/schema.md), and its migrations.

Declared with SQLAlchemy Core, not SQLModel: a process that resumes a run or reads the journal
then imports neither the ORM nor pydantic (about 0.1 s of every start). ``durablec.models``
gives SQLModel classes of the same tables to users who query the journal from Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    func,
    null,
)
from sqlalchemy.sql.expression import BindParameter

__all__ = [
    "LAZY_PAYLOAD_DEFAULT", "MIGRATIONS", "METADATA", "REPLAY_COLUMNS", "RUN_RESULT", "SCHEMA_VERSION",
    "STEP_COLUMNS", "TABLES", "events", "executions", "held", "logs", "meta", "payloads", "runs",
    "schedule_slots", "schedules", "steps", "traces", "unless_over",
]

SCHEMA_VERSION: Final = 6

LAZY_PAYLOAD_DEFAULT: Final = 256 * 1024
"""DURABLEC_LAZY_PAYLOAD's default: results over this many bytes are stored in
``durablec_payloads``, apart from their step rows."""

METADATA: Final = MetaData()


def _required(name: str, kind: Any, **options: Any) -> Column[Any]:
    return Column(name, kind, nullable=False, **options)


def _optional(name: str, kind: Any, **options: Any) -> Column[Any]:
    return Column(name, kind, nullable=True, **options)


meta: Final = Table(
    "durablec_meta", METADATA,
    _required("key", String(64), primary_key=True),
    _required("value", String),
)

runs: Final = Table(
    "durablec_runs", METADATA,
    _required("id", String(200), primary_key=True),
    _required("task_id", String(300)),
    _required("status", String(20)),
    _optional("args", LargeBinary),
    _optional("args_repr", Text),
    _optional("result", LargeBinary),
    _optional("result_repr", Text),
    _optional("error_type", String),
    _optional("error_message", Text),
    _optional("dead_letter", String),
    _optional("idempotency_key", String(300)),
    _optional("parent_run_id", String(200)),
    _optional("module_hash", String),
    _optional("wake_at", Float),
    _optional("waiting_for", String(300)),
    _required("attempt", Integer, default=1),
    _optional("lease_owner", String),
    _optional("lease_host", String),
    _optional("lease_pid", Integer),
    _optional("lease_expires_at", Float),
    _required("lease_epoch", Integer, default=0),
    _required("created_at", Float),
    _required("updated_at", Float),
    _optional("finished_at", Float),
    _optional("queue", String(200)),
    _optional("concurrency_key", String(300)),
    UniqueConstraint("task_id", "idempotency_key", name="uq_durablec_runs_task_idem"),
    Index("ix_durablec_runs_due", "status", "wake_at"),
    Index("ix_durablec_runs_task_status", "task_id", "status"),
    Index("ix_durablec_runs_created", "created_at"),
    Index("ix_durablec_runs_parent", "parent_run_id"),
    Index("ix_durablec_runs_queue", "queue", "status"),
)
"""One row per run; ``id`` is the run id."""

steps: Final = Table(
    "durablec_steps", METADATA,
    _required("id", Integer, primary_key=True),
    _required("run_id", String(200)),
    _required("key", String(1000)),
    _required("attempt", Integer),
    _optional("retry_of", Integer),
    _required("kind", String(20)),
    _required("callee", Text),
    _optional("file", Text),
    _required("line", Integer),
    _required("col", Integer),
    _required("outcome", String(10)),
    _required("final", Boolean),
    _optional("args", LargeBinary),
    _optional("args_repr", Text),
    _optional("args_digest", String(64)),
    _optional("result", LargeBinary),
    _optional("result_repr", Text),
    _optional("error_type", String),
    _optional("error_message", Text),
    _optional("traceback", Text),
    _optional("http_status", Integer),
    _optional("http_body", Text),
    _required("started_at", Float),
    _required("finished_at", Float),
    Index("ix_durablec_steps_run_key", "run_id", "key"),
)
"""One row per attempt of a checkpoint; ``final`` marks the outcome replay returns."""

events: Final = Table(
    "durablec_events", METADATA,
    _required("id", Integer, primary_key=True),
    _required("run_id", String(200)),
    _required("name", String(300)),
    _optional("payload", LargeBinary),
    _optional("payload_repr", Text),
    _optional("consumed_key", String(1000)),
    _required("created_at", Float),
    Index("ix_durablec_events_run_name", "run_id", "name"),
)
"""An event sent to a run; ``consumed_key`` is the step that received it."""

schedules: Final = Table(
    "durablec_schedules", METADATA,
    _required("id", String(150), primary_key=True),
    _required("task_id", String(300)),
    _required("source", String(10)),
    _required("cron", Text),
    _required("timezone", String(64)),
    _required("catchup", String(10)),
    _required("catchup_limit", Integer),
    _required("overlap", Boolean),
    _required("paused", Boolean),
    _optional("args", LargeBinary),
    _optional("args_repr", Text),
    _required("last_slot", Float),
    _required("next_at", Float),
    _optional("last_run_id", String(200)),
    _optional("manual_at", Float),
    _required("created_at", Float),
    _required("updated_at", Float),
    Index("ix_durablec_schedules_task", "task_id"),
)
"""A cron schedule: declared by a task (``source='code'``) or added through a Client."""

schedule_slots: Final = Table(
    "durablec_schedule_slots", METADATA,
    _required("schedule_id", String(150), primary_key=True),
    _required("slot_at", Float, primary_key=True),
    _required("run_id", String(200), unique=True),
    _required("manual", Boolean),
    _optional("now_key", String(1000)),
    _required("created_at", Float),
)
"""One row per fired slot: the primary key lets a slot start one run, whoever fires it."""

traces: Final = Table(
    "durablec_traces", METADATA,
    _required("run_id", String(200), primary_key=True),
    _required("trace_id", String(32)),
    _required("span_id", String(16)),
    _optional("parent_span_id", String(16)),
    _required("trace_flags", Integer),
    _required("created_at", Float),
    _optional("execution_span_id", String(16)),
    _optional("execution_started_at", Float),
    _optional("execution_worker", String(300)),
)
"""The OpenTelemetry trace of a run (runtime/telemetry.py), kept so that every execution, on any
worker, joins it; ``execution_*`` name the execution in progress, whose span the next execution
emits if that one never ended (its process was killed). A table of its own: ``create_all`` adds
it to existing journals without a schema version."""

executions: Final = Table(
    "durablec_executions", METADATA,
    _required("id", Integer, primary_key=True),
    _required("run_id", String(200)),
    _required("epoch", Integer),
    _required("worker", String(300)),
    _required("resumed", Boolean),
    _required("started_at", Float),
    _required("ended_at", Float),
    _required("status", String(20)),
    _optional("reason", Text),
    _optional("wake_at", Float),
    _optional("waiting_for", String(300)),
    _required("replayed", Integer),
    _required("live", Integer),
    Index("ix_durablec_executions_run", "run_id", "epoch"),
)
"""One row per execution of a run that ended on its own (not killed, not fenced off), written in
the transaction of the run's last update of that execution: how it ended and why."""

logs: Final = Table(
    "durablec_logs", METADATA,
    _required("id", Integer, primary_key=True),
    _required("run_id", String(200)),
    _required("position", String(1000)),
    _required("attempt", Integer),
    _required("at", Float),
    _required("level", Integer),
    _required("logger", String(300)),
    _required("message", Text),
    _optional("file", Text),
    _optional("line", Integer),
    Index("ix_durablec_logs_run", "run_id", "id"),
)
"""A record the task's code wrote (``logging``, or ``print`` when captured) during a run,
committed with the next write of the run (a step, its end), never by a replay."""

payloads: Final = Table(
    "durablec_payloads", METADATA,
    _required("run_id", String(200), primary_key=True),
    _required("step_id", Integer, primary_key=True, autoincrement=False),
    _required("result", LargeBinary),
)
"""A result over DURABLEC_LAZY_PAYLOAD bytes, kept out of its row (whose ``result`` is then NULL)
so that reading steps and runs (a resume, a timeline, a listing) never reads it: a step's
(``step_id`` its ``durablec_steps.id``), or the run's own (``step_id`` RUN_RESULT). Written in the
transaction of its row, read when replay reaches the step or when the run's outcome is asked."""

RUN_RESULT: Final = 0
"""The ``durablec_payloads.step_id`` of a run's own result (step ids start at 1)."""

TABLES: Final = (meta, runs, steps, events, schedules, schedule_slots, traces, executions, logs,
                 payloads)


def held(
    run_id: str | BindParameter[Any], epoch: int | BindParameter[Any]
) -> ColumnElement[bool]:
    """The run's row while its lease epoch is still ``epoch``: the fence on every write a lease
    holder makes to it (a takeover bumps the epoch, so the old holder's writes match nothing)."""
    return and_(runs.c.id == run_id, runs.c.lease_epoch == epoch)


def unless_over(
    payload: Column[Any], limit: int | BindParameter[Any]
) -> ColumnElement[Any]:
    """A payload column, NULL where it is over ``limit`` bytes, under its own name. A recorded
    result is never NULL otherwise (None pickles to bytes), so NULL says: left in the database,
    to be fetched on its own when needed; a run of large results is then never read whole."""
    return case((func.length(payload) > limit, null()), else_=payload).label(payload.name)


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
    # Executions, then task logs: new tables only.
    4: (),
    5: (),
    # Payloads: results over the default threshold (LAZY_PAYLOAD_DEFAULT, 256 KiB) move out of
    # the step and run rows, so that a journal of version 5 reads like one written by version 6.
    6: (
        "INSERT INTO durablec_payloads (run_id, step_id, result) SELECT run_id, id, result "
        f"FROM durablec_steps WHERE length(result) > {LAZY_PAYLOAD_DEFAULT}",
        f"UPDATE durablec_steps SET result = NULL WHERE length(result) > {LAZY_PAYLOAD_DEFAULT}",
        f"INSERT INTO durablec_payloads (run_id, step_id, result) SELECT id, {RUN_RESULT}, result "
        f"FROM durablec_runs WHERE length(result) > {LAZY_PAYLOAD_DEFAULT}",
        f"UPDATE durablec_runs SET result = NULL WHERE length(result) > {LAZY_PAYLOAD_DEFAULT}",
    ),
}
"""SQL to bring schema version N-1 to N, by N. Version 1 is the first published schema."""


