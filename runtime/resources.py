"""Which objects are resources: plumbing that runs live in every execution and is never journaled.

Clients, connections, sessions, pools, transactions, locks and file handles are how a task
reaches the world, not what it learns from it. A step that returns one (``await
asyncpg.connect(...)``), an ``async with`` that enters one, and a call that closes one run live on
every execution, replay included; the calls made *through* them are the checkpoints.

An object is a resource when

- its class, or a base class, is in :data:`KNOWN` (the common libraries, matched by name so that
  none of them is imported here), or was registered with :func:`resource`, or carries a true
  ``__durablec_resource__`` attribute;
- or, for ``async with`` only, the context manager is the object it enters (``async with
  httpx.AsyncClient() as c``: ``__aenter__`` returns ``self``) or enters nothing (``None``, as
  locks and transactions do), or it comes from a compiled module (its own awaits are the
  checkpoints).

Everything else is data: journaled, and replayed without calling again (docs/runtime.md).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, TypeVar

__all__ = [
    "KNOWN", "CLOSERS", "closes_resource", "is_compiled", "is_resource", "replayed_commit", "resource",
]

T = TypeVar("T", bound=type)

KNOWN: Final = frozenset({
    # HTTP clients and model clients built on them
    "httpx.AsyncClient", "httpx.Client", "aiohttp.client.ClientSession",
    "openai.AsyncOpenAI", "openai.AsyncAzureOpenAI", "openai.OpenAI",
    "openai._base_client.AsyncAPIClient", "anthropic.AsyncAnthropic",
    # databases
    "aiosqlite.core.Connection", "sqlite3.Connection",
    "asyncpg.connection.Connection", "asyncpg.pool.Pool", "asyncpg.transaction.Transaction",
    "asyncpg.pool.PoolConnectionProxy",
    "psycopg.AsyncConnection", "psycopg.connection_async.AsyncConnection",
    "psycopg_pool.pool_async.AsyncConnectionPool",
    "sqlalchemy.ext.asyncio.session.AsyncSession",
    "sqlalchemy.ext.asyncio.session.AsyncSessionTransaction",
    "sqlalchemy.ext.asyncio.engine.AsyncEngine", "sqlalchemy.ext.asyncio.engine.AsyncConnection",
    "sqlalchemy.ext.asyncio.engine.AsyncTransaction",
    "redis.asyncio.client.Redis", "redis.asyncio.client.Pipeline",
    "redis.asyncio.client.PubSub", "redis.asyncio.connection.ConnectionPool",
    # synchronization, timeouts and files
    "asyncio.locks.Lock", "asyncio.locks.Semaphore", "asyncio.locks.BoundedSemaphore",
    "asyncio.locks.Condition", "asyncio.timeouts.Timeout", "asyncio.taskgroups.TaskGroup",
    "aiofiles.threadpool.binary.AsyncBufferedReader",
    "aiofiles.threadpool.text.AsyncTextIOWrapper",
})
"""Qualified class names (``module.QualName``, as ``type.__module__`` spells them) of resources."""

CLOSERS: Final = frozenset({
    "close", "aclose", "release", "terminate", "dispose", "wait_closed", "disconnect",
})
"""Method names that release a resource: a call to one of them on a resource always runs live."""


def _forget_committed(session: Any) -> None:
    """An SQLAlchemy session whose commit was replayed: the objects added or deleted before it
    (``session.add`` is not a checkpoint, so it ran again) were committed by an earlier
    execution; flushing them again at the next live commit would insert them twice. They leave
    the session (added objects become transient: read generated ids from a query's result)."""
    sync = session.sync_session
    for obj in [*sync.new, *sync.deleted]:
        sync.expunge(obj)


AFTER_REPLAYED_COMMIT: Final[dict[str, Callable[[Any], None]]] = {
    "sqlalchemy.ext.asyncio.session.AsyncSession": _forget_committed,
}
"""Resources whose local state a replayed ``commit()`` must settle, by qualified class name."""

_REGISTERED: set[type] = set()
_CACHE: dict[type, bool] = {}


def resource(cls: T) -> T:
    """Declare a class of yours a resource (usable as a decorator): see the module docstring."""
    _REGISTERED.add(cls)
    _CACHE.clear()
    return cls


def is_resource(obj: object) -> bool:
    """Whether ``obj`` is a client, connection, session, pool, lock or file (module docstring)."""
    cls = type(obj)
    known = _CACHE.get(cls)
    if known is None:
        known = _CACHE[cls] = _classify(cls)
    return known


def _classify(cls: type) -> bool:
    for base in cls.__mro__:
        if base in _REGISTERED or f"{base.__module__}.{base.__qualname__}" in KNOWN:
            return True
    return getattr(cls, "__durablec_resource__", False) is True


def closes_resource(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is a bound method that closes a resource (``conn.close``)."""
    owner = getattr(fn, "__self__", None)
    return (owner is not None and getattr(fn, "__name__", None) in CLOSERS
            and is_resource(owner))


def is_compiled(cm: AbstractAsyncContextManager[Any]) -> bool:
    """Whether a context manager's code comes from a module durablec compiled."""
    gen = getattr(cm, "gen", None)  # an @asynccontextmanager: its async generator
    frame = getattr(gen, "ag_frame", None)
    if frame is not None:
        return "__dc_ckpt__" in frame.f_globals
    enter = getattr(type(cm), "__aenter__", None)
    namespace = getattr(enter, "__globals__", None)
    return namespace is not None and "__dc_ckpt__" in namespace


def replayed_commit(fn: Callable[..., Any]) -> None:
    """A ``commit`` call whose outcome is replayed: settle its resource's local state as the
    commit did in the execution that recorded it (:data:`AFTER_REPLAYED_COMMIT`)."""
    owner = getattr(fn, "__self__", None)
    for cls in type(owner).__mro__:
        settle = AFTER_REPLAYED_COMMIT.get(f"{cls.__module__}.{cls.__qualname__}")
        if settle is not None:
            settle(owner)
            return
