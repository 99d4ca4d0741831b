"""The journal: runs, step attempts and events in any SQLAlchemy database (SQLite by default).

The schema (documented in docs/schema.md) is declared with SQLModel. The per-checkpoint hot path
uses one precompiled SQLAlchemy Core statement: an ``INSERT ... SELECT ... WHERE EXISTS`` that
records a step only while the writer still holds the run's lease (fencing) in one round trip.
Times are seconds since the Unix epoch (UTC) as floats, the same on every backend.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    create_engine,
    event,
    exists,
    insert,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import CursorResult, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import BindParameter, ClauseElement
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Field, SQLModel

from durablec.errors import JournalError
from durablec.runtime.clock import now
from durablec.runtime.committer import Committer
from durablec.runtime.notify import WAKEUP_DDL

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "EventRow",
    "Journal",
    "MetaRow",
    "Prepared",
    "REPLAY_COLUMNS",
    "RunRow",
    "ScheduleRow",
    "ScheduleSlotRow",
    "StepRow",
    "TraceRow",
    "database_url",
    "held",
    "now",
]

SCHEMA_VERSION: Final = 3
DEFAULT_URL: Final = "sqlite:///./durablec.db"

TERMINAL: Final = frozenset({"completed", "failed", "dead_lettered", "cancelled"})


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

# The hot path: record a step attempt only if the run's lease is still ours (fencing token),
# in one statement. No row inserted means another worker took the run over. SQLite reports the
# new id without RETURNING, which spares reading a result set per step.
_INSERT_STEP: Final = (
    insert(steps)
    .from_select(
        list(STEP_COLUMNS),
        select(*(bindparam(name, type_=steps.c[name].type) for name in STEP_COLUMNS)).where(
            exists().where(
                runs.c.id == bindparam("fence_run"), runs.c.lease_epoch == bindparam("fence_epoch")
            )
        ),
    )
)
_INSERT_STEP_RETURNING: Final = _INSERT_STEP.returning(steps.c.id)

REPLAY_COLUMNS: Final = ("id", "key", "attempt", "final", "kind", "callee", "file", "line",
                          "outcome", "result", "args_digest")
"""The columns replay reads, in the order load_steps returns them (not tracebacks or previews)."""

_LOAD_STEPS: Final = (
    select(*(steps.c[name] for name in REPLAY_COLUMNS))
    .where(steps.c.run_id == bindparam("run_id"))
    .order_by(steps.c.id)
)

_MIGRATIONS: Final[dict[int, Sequence[str]]] = {
    2: (
        "ALTER TABLE durablec_runs ADD COLUMN queue VARCHAR(200)",
        "ALTER TABLE durablec_runs ADD COLUMN concurrency_key VARCHAR(300)",
        "CREATE INDEX ix_durablec_runs_queue ON durablec_runs (queue, status)",
    ),
    # Schedules: only new tables, which create_all makes before the migrations run.
    3: (),
}
"""SQL to bring schema version N-1 to N, by N. Version 1 is the first published schema."""


def database_url(db: str | None = None) -> str:
    """The SQLAlchemy URL to use: ``db``, else ``DURABLEC_DATABASE_URL``, else ./durablec.db."""
    url = db or os.environ.get("DURABLEC_DATABASE_URL") or DEFAULT_URL
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Journal:
    """An engine on the journal database, with the schema ensured and the hot path prepared."""

    def __init__(self, db: str | None = None) -> None:
        url = database_url(db)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise JournalError(
                f"{url!r} is not a database URL; pass one to --db or DURABLEC_DATABASE_URL, e.g. "
                "sqlite:///./durablec.db or postgresql://user@host/dbname"
            ) from None
        # The URL as messages show it: never the password.
        self.url = parsed.render_as_string(hide_password=True)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # Runs share the group commit's connection; claims, heartbeats and run-level writes borrow
        # more from threads. No cap, so none of them ever waits for SQLAlchemy's default of 15.
        kwargs: dict[str, Any] = {"pool_size": 20, "max_overflow": -1}
        if self.is_sqlite:
            busy = _busy_timeout()
            kwargs["connect_args"] = {"timeout": busy}
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except Exception as exc:
            raise JournalError(
                f"cannot open the journal database {self.url}: {_reason(exc)}; check the URL "
                "(--db or DURABLEC_DATABASE_URL) and that its database driver is installed"
            ) from exc
        if self.is_sqlite:
            sync = os.environ.get("DURABLEC_SQLITE_SYNCHRONOUS", "NORMAL").upper()
            if sync not in ("NORMAL", "FULL", "EXTRA", "OFF"):
                raise JournalError(
                    f"DURABLEC_SQLITE_SYNCHRONOUS={sync!r} is not one of NORMAL, FULL, EXTRA, OFF"
                )
            event.listen(self.engine, "connect", _sqlite_pragmas(sync, busy))
        self._ensure_schema()
        self._prepared: dict[tuple[str, ...], Prepared] = {}
        self._insert_step = self.prepare(
            ("insert_step",), lambda: _INSERT_STEP if self.is_sqlite else _INSERT_STEP_RETURNING
        )
        self._committers: dict[asyncio.AbstractEventLoop, Committer] = {}

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def failures(self, run_id: str) -> Iterator[None]:
        """Database errors while executing run ``run_id``, as a JournalError saying what to do."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise JournalError(
                f"run {run_id}: the journal at {self.url} failed: {_reason(exc)}; what it recorded "
                f"is kept, and once the database accepts writes `durablec run --run-id {run_id}` "
                "or a worker resumes the run from its last recorded step"
            ) from exc

    def _ensure_schema(self) -> None:
        for last in (False, True):
            try:
                self._prepare_schema()
                return
            except JournalError:
                raise
            except Exception as exc:
                # Another process may have created the tables (or the version row) between our
                # look and our CREATE: look again, once. An error that persists is reported.
                if not last:
                    continue
                check = ("that the file's directory exists and is writable" if self.is_sqlite else
                         "that the server is running and reachable, and the user, password and "
                         "database name")
                raise JournalError(
                    f"cannot use the journal database {self.url}: {_reason(exc)}; check the URL "
                    f"(--db or DURABLEC_DATABASE_URL) and {check}"
                ) from exc

    def _prepare_schema(self) -> None:
        with self.engine.begin() as conn:
            stored = None
            if sa_inspect(conn).has_table(meta.name):
                stored = conn.execute(
                    select(meta.c.value).where(meta.c.key == "schema_version")
                ).scalar_one_or_none()
            # Before create_all: a newer journal must not gain the tables this version knows.
            if stored is not None and int(stored) > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal at {self.url} has schema version {stored}, newer than this "
                    f"durablec understands ({SCHEMA_VERSION}); it was left unchanged. Upgrade "
                    "durablec to the version that wrote it, or use another journal (--db or "
                    "DURABLEC_DATABASE_URL)"
                )
            SQLModel.metadata.create_all(conn, tables=list(TABLES))
            if stored is None:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
                self._install_wakeups(conn)
                return
            version = int(stored)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.exec_driver_sql(statement)
            if version < 2:
                self._install_wakeups(conn)
            if version != SCHEMA_VERSION:
                conn.execute(
                    update(meta)
                    .where(meta.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )

    @contextmanager
    def writing(self) -> Iterator[Committer]:
        """The group committer of the running event loop, held while an execution writes."""
        loop = asyncio.get_running_loop()
        committer = self._committers.get(loop)
        if committer is None:

            def forget() -> None:
                self._committers.pop(loop, None)

            committer = self._committers[loop] = Committer(self.engine, loop, on_idle=forget)
        committer.use()
        try:
            yield committer
        finally:
            committer.release()

    def prepare(self, key: tuple[str, ...], build: Callable[[], ClauseElement]) -> Prepared:
        """The statement named by ``key`` (a kind and its columns), built and compiled once for
        this database: for the writes every run makes."""
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = Prepared(build(), self.engine.dialect)
        return found

    def _install_wakeups(self, conn: Connection) -> None:
        """On PostgreSQL, a trigger that NOTIFYs idle workers when a run becomes pending."""
        if not self.is_sqlite:
            for statement in WAKEUP_DDL:
                conn.exec_driver_sql(statement)

    def insert_step(self, conn: Connection, values: dict[str, Any]) -> int | None:
        """Record one attempt (the caller commits); None when the lease was lost."""
        result = self._insert_step.execute(conn, values)
        if self.is_sqlite:
            return result.lastrowid if result.rowcount == 1 else None
        step_id: int | None = result.scalar_one_or_none()
        return step_id

    def load_steps(self, conn: Connection, run_id: str) -> Sequence[Any]:
        """What replay needs of the run's whole journal (REPLAY_COLUMNS), in recording order, in
        one query. Payloads stay bytes: each is unpickled only when its step is replayed."""
        return conn.execute(_LOAD_STEPS, {"run_id": run_id}).all()

    def load_result(self, conn: Connection, step_id: int) -> bytes | None:
        """One step's recorded payload, for a step recorded earlier in this same execution."""
        payload: bytes | None = conn.execute(
            select(steps.c.result).where(steps.c.id == step_id)).scalar_one_or_none()
        return payload


class Prepared:
    """A Core statement compiled once and executed as driver SQL.

    Executed through the SQLAlchemy connection (so its events and error handling apply), it
    skips what a Core ``execute`` repeats on every call: the cache-key walk and the bind
    processing. Parameters go to the driver as they are, so they must be plain values that the
    driver accepts for the column types (str, int, float, bool, bytes, None).
    """

    __slots__ = ("sql", "order")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup else None
        )

    def execute(self, conn: Connection, values: dict[str, Any]) -> CursorResult[Any]:
        order = self.order
        params: Any = tuple([values[name] for name in order]) if order is not None else values
        return conn.exec_driver_sql(self.sql, params)


def _reason(exc: Exception) -> str:
    """The first line of the driver's own message (SQLAlchemy wraps it in several lines)."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _busy_timeout() -> float:
    """Seconds an SQLite write waits for another process's lock: DURABLEC_SQLITE_BUSY_TIMEOUT."""
    text = os.environ.get("DURABLEC_SQLITE_BUSY_TIMEOUT", "60")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise JournalError(
            f"DURABLEC_SQLITE_BUSY_TIMEOUT={text!r} is not a number of seconds >= 0 (default 60)"
        )
    return seconds


def _sqlite_pragmas(synchronous: str, busy: float) -> Any:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cursor.close()

    return on_connect
