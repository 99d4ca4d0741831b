"""Database transactions across checkpoints: replayed statements that were never committed.

Each statement a task sends through a connection is a checkpoint of its own, but the database
keeps its effect only once the transaction commits:

    await db.execute("INSERT ...")     # step 2, journaled
    await db.commit()                  # step 3: the process is killed before it is recorded

The resume opens a new connection (resources run live), replays step 2 without running it, and
would commit an empty transaction: the row is lost. So replay tracks, per live connection in a
transaction, the statements it replayed since that connection's last replayed commit; before the
first *live* call through the connection (the commit above, or any other statement), it runs them
again, in order. A replayed ``commit`` (or ``rollback``) clears the list: the database kept (or
dropped) their effect when the commit was recorded. An ``async with`` that commits on exit
(``conn.transaction()``, ``session.begin()``, ``engine.begin()``) journals its successful exit as
the commit (step ``K>``), so a replay knows whether that transaction committed.

A connection in autocommit mode (asyncpg outside ``conn.transaction()``, aiosqlite with
``isolation_level=None``, psycopg with ``autocommit=True``) commits each statement as it runs:
nothing is tracked, since each recorded statement's effect is already durable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

__all__ = ["Pending", "commits_on_exit", "connection_in_transaction", "ends_transaction"]

Call = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...], dict[str, Any]]

_ENDS: Final = frozenset({"commit", "rollback"})
_READS: Final = ("fetch", "execute_fetchall")


def _names(obj: object) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(obj).__mro__]


_TRANSACTIONAL: Final = frozenset({
    "aiosqlite.core.Connection", "aiosqlite.cursor.Cursor", "asyncpg.connection.Connection",
    "sqlalchemy.ext.asyncio.session.AsyncSession", "sqlalchemy.ext.asyncio.engine.AsyncConnection",
    "psycopg.connection_async.AsyncConnection", "psycopg.cursor_async.AsyncCursor",
})
_KINDS: dict[type, bool] = {}


def connection_in_transaction(receiver: object) -> object | None:
    """The connection whose open transaction a call through ``receiver`` belongs to, if any."""
    known = _KINDS.get(type(receiver))
    if known is None:
        known = _KINDS[type(receiver)] = any(name in _TRANSACTIONAL for name in _names(receiver))
    if not known:
        return None  # the common case, one dict lookup: not a database connection
    for name in _names(receiver):
        if name == "aiosqlite.core.Connection":
            return receiver if _safe(lambda: receiver.isolation_level is not None) else None  # type: ignore[attr-defined]  # checked by name
        if name == "aiosqlite.cursor.Cursor":
            return connection_in_transaction(getattr(receiver, "_conn", None))
        if name == "asyncpg.connection.Connection":
            return receiver if _safe(receiver.is_in_transaction) else None  # type: ignore[attr-defined]  # checked by name
        if name in ("sqlalchemy.ext.asyncio.session.AsyncSession",
                    "sqlalchemy.ext.asyncio.engine.AsyncConnection"):
            return receiver  # both begin a transaction on first use (autobegin)
        if name == "psycopg.connection_async.AsyncConnection":
            return None if getattr(receiver, "autocommit", True) else receiver
        if name == "psycopg.cursor_async.AsyncCursor":
            return connection_in_transaction(getattr(receiver, "connection", None))
    return None


def _safe(check: Callable[[], object]) -> bool:
    try:
        return bool(check())
    except Exception:  # noqa: BLE001 - a closed or unconnected connection has no transaction
        return False


def ends_transaction(fn: Callable[..., Any]) -> bool:
    """Whether a call commits or rolls back its connection's transaction."""
    return getattr(fn, "__name__", None) in _ENDS


def commits_on_exit(cm: AbstractAsyncContextManager[Any], entered: object) -> object | None:
    """The connection a transaction context manager commits on a clean exit, if ``cm`` is one."""
    for name in _names(cm):
        if name == "asyncpg.transaction.Transaction":
            return getattr(cm, "_connection", None)
        if name == "sqlalchemy.ext.asyncio.session.AsyncSessionTransaction":
            return getattr(cm, "session", None)
        if name in ("sqlalchemy.ext.asyncio.engine.AsyncTransaction",
                    "psycopg.transaction.AsyncTransaction"):
            return getattr(cm, "connection", None)
    gen = getattr(cm, "gen", None)  # an @asynccontextmanager of a library
    code = getattr(gen, "ag_code", None)
    if code is not None and code.co_qualname == "AsyncEngine.begin":
        return entered
    return None


class Pending:
    """Replayed statements per connection, not yet known to be committed (module docstring)."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        self.calls: dict[int, tuple[object, list[Call]]] = {}

    def __bool__(self) -> bool:
        return bool(self.calls)

    def replayed(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        """Note a replayed call through a connection in a transaction."""
        conn = connection_in_transaction(getattr(fn, "__self__", None))
        if conn is None:
            return
        if ends_transaction(fn):
            self.calls.pop(id(conn), None)
        elif not _reads(fn, args):
            self.calls.setdefault(id(conn), (conn, []))[1].append((fn, args, kwargs))

    def committed(self, conn: object) -> None:
        """A replayed commit of ``conn`` (a transaction block's recorded exit)."""
        self.calls.pop(id(conn), None)

    async def redo(self, conn: object | None, *, rollback: bool = False) -> None:
        """Before a live call through ``conn``: run its uncommitted replayed statements again."""
        if conn is None:
            return
        held = self.calls.get(id(conn))
        if held is None:
            return
        if not rollback:
            for fn, args, kwargs in held[1]:
                await fn(*args, **kwargs)
        # Forgotten only once they ran: a redo that failed is tried again with the step's retry.
        self.calls.pop(id(conn), None)


def _reads(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """A statement that only reads: running it again would change nothing."""
    name = getattr(fn, "__name__", "")
    if name.startswith(_READS):
        return True
    sql = args[0] if args and isinstance(args[0], str) else ""
    return sql.lstrip()[:6].upper() == "SELECT"
