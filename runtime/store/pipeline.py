"""Group commits in psycopg's pipeline mode: one round trip per batch on PostgreSQL.

The committer's connection stays in pipeline mode while it is held, and in autocommit mode so
that psycopg does not start each transaction itself (it would send its BEGIN with a Sync of
its own: a second round trip). A batch queues ``BEGIN``, every write's statements and, through
SQLAlchemy's ``commit()`` (so its ``commit`` event runs first, as on the other path), the
``COMMIT`` with one Sync: the server answers everything once. ``strace`` shows one ``recvfrom``
per batch.

Statements go to the psycopg cursor, not through SQLAlchemy: SQLAlchemy reads
``cursor.description`` and ``rowcount`` right after ``execute``, where pipeline mode has no
result yet (it saw no rows from ``RETURNING`` and a row count of -1). Each statement gets a
cursor of its own, which holds its result once the commit's Sync has brought it. A driver error
while sending is raised as SQLAlchemy's, as errors at the commit are by SQLAlchemy itself: the
committer sees one kind of failure on every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg import pq
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from durablec.runtime.store.batch import Batch, Sent

__all__ = ["Pipelined"]

T = TypeVar("T")


class Pipelined(Batch):
    """Group commits whose statements and COMMIT are sent together (psycopg pipeline mode)."""

    __slots__ = ("_driver", "_pipeline", "_synced")

    defers: ClassVar[bool] = True

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn.execution_options(isolation_level="AUTOCOMMIT"))
        driver = conn.connection.dbapi_connection
        assert isinstance(driver, psycopg.Connection)
        self._driver: psycopg.Connection[Any] = driver
        self._pipeline: AbstractContextManager[psycopg.Pipeline] = driver.pipeline()
        self._synced: Callable[[], None] = self._pipeline.__enter__().sync

    def begin(self) -> None:
        # SQLAlchemy's begin sends nothing; it makes its commit() (and events) apply.
        self.conn.begin()
        self.send("BEGIN", None)

    def send(self, sql: str, params: Any) -> Sent:
        cursor = self._driver.cursor()
        try:
            cursor.execute(sql, params)
        except psycopg.Error as exc:
            raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
        return _Pending(cursor, self._synced)

    def commit(self) -> None:
        if self._driver.pgconn.transaction_status == pq.TransactionStatus.IDLE:
            # Every answer has arrived already (the server flushed a full buffer): libpq then
            # reports the status of the last Sync, and psycopg's commit() would send no COMMIT
            # at all. A Sync first shows it the open transaction: a rare second round trip.
            _as_sqlalchemy(self._synced, "SYNC")
        super().commit()

    def close(self) -> None:
        self._leave_pipeline()
        super().close()

    def discard(self) -> None:
        self._leave_pipeline()
        super().discard()

    def _leave_pipeline(self) -> None:
        """Sync and leave pipeline mode before the connection goes back to the pool; one that
        cannot (a dropped server) is invalidated, never pooled in pipeline mode."""
        try:
            self._pipeline.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - the batch's own error, if any, is the one to report
            self.conn.invalidate()


class _Pending:
    """A statement's result, read from its cursor once the commit's Sync has brought it. Read
    before the commit, it is waited for (a round trip) rather than wrong: psycopg fetches a
    row itself, and a row count is there only after a Sync."""

    __slots__ = ("_cursor", "_sync")

    def __init__(self, cursor: psycopg.Cursor[Any], sync: Callable[[], None]) -> None:
        self._cursor = cursor
        self._sync = sync

    @property
    def rowcount(self) -> int:
        if self._cursor.pgresult is None:
            _as_sqlalchemy(self._sync, "SYNC")
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """None: PostgreSQL reports new ids through ``RETURNING`` (``reports_lastrowid``)."""
        return None

    def scalar_one_or_none(self) -> Any:
        row = _as_sqlalchemy(self._cursor.fetchone, "FETCH")
        return None if row is None else row[0]


def _as_sqlalchemy(call: Callable[[], T], what: str) -> T:
    """``call()``, a driver error raised as SQLAlchemy raises it, as on the other path."""
    try:
        return call()
    except psycopg.Error as exc:
        raise DBAPIError.instance(what, None, exc, psycopg.Error) from exc
