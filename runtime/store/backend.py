"""Backends: what each kind of database offers the store, and the few statements that differ.

Every other statement of the store is portable SQLAlchemy Core. A new backend is a subclass of
:class:`Backend` here, chosen by :func:`backend_for` from the URL; the rest of the runtime asks
capabilities (``journal.backend.notifies``), never which database it is.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, event, func, select, update
from sqlalchemy.engine import URL
from sqlalchemy.pool import ConnectionPoolEntry

from durablec.errors import JournalError
from durablec.runtime.store.batch import Batch
from durablec.runtime.store.notify import WAKEUP_DDL
from durablec.runtime.store.schema import meta, schedules

__all__ = ["Backend", "PostgreSQL", "SQLite", "backend_for"]


class Backend:
    """A kind of database, as the store uses it."""

    name: ClassVar[str]
    notifies: ClassVar[bool]
    """Whether idle workers can be woken at once when a run becomes pending (LISTEN/NOTIFY)."""
    reports_lastrowid: ClassVar[bool]
    """Whether an insert's new id comes with the cursor, sparing a RETURNING result set."""
    reach_hint: ClassVar[str]
    """What to check when the database cannot be used, for the error message."""

    def engine_options(self) -> dict[str, Any]:
        # Runs share the group commit's connection; claims, heartbeats and run-level writes
        # borrow more from threads. No cap, so none of them ever waits for SQLAlchemy's 15.
        return {"pool_size": 20, "max_overflow": -1}

    def configure(self, engine: Engine) -> None:
        """Settings every new connection gets."""

    def batches(self, engine: Engine) -> Batch:
        """A connection for the group commit. Where the database can take a batch's statements
        and its COMMIT in one round trip, a :class:`Batch` that ``defers`` their results."""
        return Batch(engine.connect())

    def install_wakeups(self, conn: Connection) -> None:
        """Create what wakes idle workers when a run becomes pending, if the backend can."""

    def lock_schema(self, conn: Connection) -> None:
        """Serialize, until this transaction ends, the processes that create or migrate the
        tables: the second of two opening a new journal at once waits, then finds them made."""
        raise NotImplementedError

    def lock_queue(self, conn: Connection, queue: str) -> None:
        """Serialize the claims of one limited queue until this transaction ends."""
        raise NotImplementedError

    def lock_schedule(self, conn: Connection, schedule_id: str) -> None:
        """Take, before the schedule's row is read ``FOR UPDATE SKIP LOCKED``, whatever lock
        the database needs so that one firer at a time reads and fires it."""
        raise NotImplementedError

    def bound_idle_transaction(self, conn: Connection, seconds: float) -> None:
        """End this transaction if its process stalls in it (SIGSTOP, a debugger) for longer
        than ``seconds``, where the row locks it holds would hide runs from other workers."""


@dataclass(frozen=True, slots=True)
class SQLite(Backend):
    """A file in WAL mode; writers are serialized by the database's one write lock."""

    name: ClassVar[str] = "sqlite"
    notifies: ClassVar[bool] = False
    reports_lastrowid: ClassVar[bool] = True
    reach_hint: ClassVar[str] = "that the file's directory exists and is writable"

    synchronous: str
    busy_timeout: float
    """Seconds a write waits for another process's lock."""

    @classmethod
    def from_env(cls) -> SQLite:
        """Settings from DURABLEC_SQLITE_SYNCHRONOUS and DURABLEC_SQLITE_BUSY_TIMEOUT."""
        text = os.environ.get("DURABLEC_SQLITE_BUSY_TIMEOUT", "60")
        try:
            busy = float(text)
        except ValueError:
            busy = -1.0
        if not busy >= 0:
            raise JournalError(
                f"DURABLEC_SQLITE_BUSY_TIMEOUT={text!r} is not a number of seconds >= 0 "
                "(default 60)"
            )
        sync = os.environ.get("DURABLEC_SQLITE_SYNCHRONOUS", "NORMAL").upper()
        if sync not in ("NORMAL", "FULL", "EXTRA", "OFF"):
            raise JournalError(
                f"DURABLEC_SQLITE_SYNCHRONOUS={sync!r} is not one of NORMAL, FULL, EXTRA, OFF"
            )
        return cls(sync, busy)

    def engine_options(self) -> dict[str, Any]:
        return {**Backend.engine_options(self), "connect_args": {"timeout": self.busy_timeout}}

    def configure(self, engine: Engine) -> None:
        pragmas = (
            f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}",
            f"PRAGMA synchronous={self.synchronous}",
        )
        patience = self.busy_timeout

        def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            _enter_wal(cursor, patience)
            for pragma in pragmas:
                cursor.execute(pragma)
            cursor.close()

        event.listen(engine, "connect", on_connect)

    def lock_schema(self, conn: Connection) -> None:
        # The write lock before the first look: the tables may not exist yet to write to.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def lock_queue(self, conn: Connection, queue: str) -> None:
        # A write first: the transaction then holds SQLite's write lock, for every queue.
        conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=meta.c.value))

    def lock_schedule(self, conn: Connection, schedule_id: str) -> None:
        # A write first: the transaction holds SQLite's write lock before it reads.
        conn.execute(update(schedules).where(schedules.c.id == schedule_id)
                     .values(updated_at=schedules.c.updated_at))


@dataclass(frozen=True, slots=True)
class PostgreSQL(Backend):
    """A server shared by workers on many machines: row locks, advisory locks, NOTIFY."""

    name: ClassVar[str] = "postgresql"
    notifies: ClassVar[bool] = True
    reports_lastrowid: ClassVar[bool] = False
    reach_hint: ClassVar[str] = ("that the server is running and reachable, and the user, "
                                 "password and database name")

    def batches(self, engine: Engine) -> Batch:
        """Pipelined batches, unless something listens to the engine's statements or their
        errors (a tracer, a fault-injecting test): the pipeline sends its statements past
        SQLAlchemy, so those get SQLAlchemy's path, a round trip per statement."""
        if _watched(engine):
            return Batch(engine.connect())
        # Imported here: psycopg is an optional dependency, loaded only for PostgreSQL.
        from durablec.runtime.store.pipeline import Pipelined

        return Pipelined(engine.connect())

    def install_wakeups(self, conn: Connection) -> None:
        for statement in WAKEUP_DDL:
            conn.exec_driver_sql(statement)

    def lock_schema(self, conn: Connection) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended("durablec schema", 0))))

    def lock_queue(self, conn: Connection, queue: str) -> None:
        conn.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended("durablec queue " + queue, 0))))

    def lock_schedule(self, conn: Connection, schedule_id: str) -> None:
        """Nothing: reading the row ``FOR UPDATE SKIP LOCKED`` locks it (or skips it)."""

    def bound_idle_transaction(self, conn: Connection, seconds: float) -> None:
        conn.exec_driver_sql(
            f"SET LOCAL idle_in_transaction_session_timeout = {int(seconds * 1000)}"
        )


def _watched(engine: Engine) -> bool:
    """Whether a listener (on this engine or on every Engine) sees statements or their errors."""
    dispatch = engine.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute
                or engine.dialect.dispatch.handle_error)


def _enter_wal(cursor: sqlite3.Cursor, patience: float) -> None:
    """Put the file in WAL mode, waiting up to ``patience`` seconds for the lock it takes.

    SQLite answers "database is locked" at once, without its busy handler, while another
    process holds the lock of a file not yet in WAL mode (two opening a new journal together).
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def backend_for(url: URL) -> Backend:
    """The backend of a database URL: SQLite, else PostgreSQL (the only other one supported)."""
    if url.get_backend_name() == "sqlite":
        return SQLite.from_env()
    return PostgreSQL()
