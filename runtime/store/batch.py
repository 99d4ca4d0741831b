"""The statements of one group commit, on the committer's connection.

A write of the group commit sends its statements through a :class:`Batch` and returns how to
read its result (a function called at once where the batch does not defer, else after the
commit). :class:`Batch` executes each statement through SQLAlchemy as it is sent, so the result
is there at once (SQLite, where a statement costs no round trip). A backend that can defer
results (PostgreSQL's pipeline mode, ``runtime/store/pipeline.py``) returns a subclass whose
``defers`` is true: every statement and the COMMIT go to the server together, and the results
are read after the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from sqlalchemy import Connection

__all__ = ["Batch", "Sent", "Write"]


class Sent(Protocol):
    """A statement sent in a batch: the part of SQLAlchemy's ``CursorResult`` writes read."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...

    def scalar_one_or_none(self) -> Any: ...


class Batch:
    """Group commits on one connection, each statement executed through SQLAlchemy when sent."""

    __slots__ = ("conn",)

    defers: ClassVar[bool] = False
    """Whether results arrive only with the commit (one read before it waits for them)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def begin(self) -> None:
        """Start a batch's transaction (SQLAlchemy begins one with the first statement)."""

    def send(self, sql: str, params: Any) -> Sent:
        return self.conn.exec_driver_sql(sql, params)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        """Return the connection to the pool (after a committed batch)."""
        self.conn.close()

    def discard(self) -> None:
        """Roll back and close. A rollback that fails leaves nothing either: closing a
        connection ends its transaction, and the error worth reporting is the one that came
        first."""
        try:
            self.conn.rollback()
        except Exception:  # noqa: BLE001, S110 - see the docstring
            pass
        self.conn.close()


Write = Callable[[Batch], Callable[[], Any]]
"""One write: sends its statements in the batch, commits nothing, returns how to read its
result."""
