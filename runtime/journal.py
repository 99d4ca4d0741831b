"""The journal: runs, step attempts and events in any SQLAlchemy database (SQLite by default).

The schema (documented in docs/schema.md) is declared with SQLModel. The per-checkpoint hot path
uses one precompiled SQLAlchemy Core statement: an ``INSERT ... SELECT ... WHERE EXISTS`` that
records a step only while the writer still holds the run's lease (fencing) in one round trip.
Times are seconds since the Unix epoch (UTC) as floats, the same on every backend.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
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
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Field, SQLModel

from durablec.errors import JournalError

__all__ = [
    "DEFAULT_URL",
    "SCHEMA_VERSION",
    "EventRow",
    "Journal",
    "MetaRow",
    "RunRow",
    "StepRow",
    "database_url",
    "held",
    "now",
]

SCHEMA_VERSION: Final = 1
DEFAULT_URL: Final = "sqlite:///./durablec.db"

TERMINAL: Final = frozenset({"completed", "failed", "dead_lettered", "cancelled"})


def now() -> float:
    return time.time()


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


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]  # set by SQLModel for table=True
    assert isinstance(table, Table)
    return table


runs: Final = _table(RunRow)
steps: Final = _table(StepRow)
events: Final = _table(EventRow)
meta: Final = _table(MetaRow)
TABLES: Final = (meta, runs, steps, events)


def held(run_id: str, epoch: int) -> ColumnElement[bool]:
    """The run's row while its lease epoch is still ``epoch``: the fence on every write a lease
    holder makes to it (a takeover bumps the epoch, so the old holder's writes match nothing)."""
    return and_(runs.c.id == run_id, runs.c.lease_epoch == epoch)


STEP_COLUMNS: Final = tuple(c.name for c in steps.columns if c.name != "id")

# The hot path: record a step attempt only if the run's lease is still ours (fencing token),
# in one statement. rowcount 0 means another worker took the run over.
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
    .returning(steps.c.id)
)

_MIGRATIONS: Final[dict[int, Sequence[str]]] = {}
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
        self.url = database_url(db)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            busy = _busy_timeout()
            kwargs["connect_args"] = {"timeout": busy}
        try:
            self.engine: Engine = create_engine(self.url, **kwargs)
        except Exception as exc:
            raise JournalError(f"cannot open the journal database {self.url!r}: {exc}") from exc
        if self.is_sqlite:
            sync = os.environ.get("DURABLEC_SQLITE_SYNCHRONOUS", "NORMAL").upper()
            if sync not in ("NORMAL", "FULL", "EXTRA", "OFF"):
                raise JournalError(
                    f"DURABLEC_SQLITE_SYNCHRONOUS={sync!r} is not one of NORMAL, FULL, EXTRA, OFF"
                )
            event.listen(self.engine, "connect", _sqlite_pragmas(sync, busy))
        self._ensure_schema()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

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
                if last:
                    message = f"cannot prepare the journal at {self.url!r}: {exc}"
                    raise JournalError(message) from exc

    def _prepare_schema(self) -> None:
        with self.engine.begin() as conn:
            SQLModel.metadata.create_all(conn, tables=list(TABLES))
            row = conn.execute(
                select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar_one_or_none()
            if row is None:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            version = int(row)
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal at {self.url!r} has schema version {version}, newer than this "
                    f"durablec understands ({SCHEMA_VERSION}); upgrade durablec"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.exec_driver_sql(statement)
            if version != SCHEMA_VERSION:
                conn.execute(
                    update(meta)
                    .where(meta.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )

    def insert_step(self, conn: Connection, values: dict[str, Any]) -> int | None:
        """Record one attempt and commit; None when the lease was lost (nothing written)."""
        step_id = conn.execute(_INSERT_STEP, values).scalar_one_or_none()
        conn.commit()
        return step_id

    def load_steps(self, conn: Connection, run_id: str) -> list[Any]:
        """The run's whole journal, in recording order, in one query."""
        rows = conn.execute(select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id))
        return list(rows)


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
