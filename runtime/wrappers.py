"""``async for``, ``async with`` and coroutine arguments (gather's children) inside a run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

from durablec.runtime.abi import Site, active_scope, site_callee
from durablec.runtime.context import StepRecord
from durablec.runtime.engine import CheckStub, RunScope
from durablec.runtime.recording import record_simple
from durablec.runtime.resources import is_compiled, is_resource
from durablec.runtime.transactions import commits_on_exit

__all__ = ["DurableContext", "DurableIterator", "child_step", "is_child_step", "scope_coroutines"]


class DurableIterator:
    """``async for`` in a run: each item a checkpoint, replayed items fast-forwarded on resume."""

    def __init__(
        self, scope: RunScope, key: str, site: Site, iterable: AsyncIterable[Any], file: str | None
    ) -> None:
        self._scope = scope
        self._key = key
        self._site = site
        self._iterable = iterable
        self._file = file
        self._child = RunScope(scope.run, key, scope.policy)
        self._iterator: AsyncIterator[Any] | None = None
        self._count = 0
        self._length: int | None = 0  # of the replayed items while all are bytes or str

    def __aiter__(self) -> DurableIterator:
        return self

    async def __anext__(self) -> Any:
        scope = self._scope
        run = scope.run
        index = self._count
        self._count = index + 1
        key = f"{self._key}#{index}"
        record = run.records.get(key)
        if run.suspend is not None:
            raise run.suspend
        if record is not None:
            if record.outcome == "stop":
                scope.verify(key, record, "iter", self._site, (), {})
                raise StopAsyncIteration
            value = await scope.replay(key, record, "iter", self._site, (), {}, None)
            if self._length is not None:
                self._length = (self._length + len(value)
                                if isinstance(value, (bytes, str)) else None)
            return value
        run.stop_if_unwinding()
        rest = None
        if self._iterator is None:
            # Items before this one were replayed: restart the iterable and skip them. A compiled
            # async generator replays its own steps while skipping, so nothing runs twice; a
            # stream replayed as a stand-in is requested again (standins.py).
            self._iterator = self._iterable.__aiter__()
            rest = await self._skip(index)
        started = run.started(key, "iter", self._site, self._file)
        try:
            value = rest if rest is not None else await self._next()
        except StopAsyncIteration:
            await record_simple(scope.run, key, "iter", self._site, self._file, started, "stop", None)
            raise
        except Exception as exc:
            if run.fatal is None:
                await record_simple(scope.run, key, "iter", self._site, self._file, started, "error", exc)
            raise
        return await record_simple(scope.run, key, "iter", self._site, self._file, started, "ok", value)

    async def _skip(self, count: int) -> Any:
        """Skip the ``count`` items replay handed back; returns the unread rest of an item.

        A byte or text stream requested again may be cut into other chunks: it is skipped by
        length, so the task reads each byte once whatever the chunks.
        """
        if self._length is None:
            for _ in range(count):
                await self._next()
            return None
        left = self._length
        while left > 0:
            item = await self._next()
            if len(item) > left:
                return item[left:]
            left -= len(item)
        return None

    async def _next(self) -> Any:
        assert self._iterator is not None
        token = active_scope.set(self._child)
        try:
            return await self._iterator.__anext__()
        finally:
            active_scope.reset(token)


class DurableContext:
    """``async with`` in a run.

    A resource (a client, connection, session, lock; a context manager from a compiled module;
    one that enters itself or nothing) is entered and exited live in every execution, replay
    included, and only marked ``live`` in the journal. Any other context manager hands the task
    data (a response whose request was made on entering): the entered value is journaled as step
    ``K<`` and replayed without entering again. Whatever fails after a live entry, the exit runs.
    """

    def __init__(
        self, scope: RunScope, key: str, site: Site, cm: AbstractAsyncContextManager[Any],
        file: str | None,
    ) -> None:
        self._scope = scope
        self._key = key
        self._site = site
        self._cm = cm
        self._file = file
        self._child = RunScope(scope.run, key, scope.policy)
        self._entered_live = False
        self._entered: object = None

    async def __aenter__(self) -> Any:
        scope = self._scope
        run = scope.run
        key = self._key + "<"
        record = run.records.get(key)
        if run.suspend is not None:
            raise run.suspend
        cm = self._cm
        plumbing = is_compiled(cm) or is_resource(cm)
        if record is not None and record.outcome != "live" and not plumbing:
            return await scope.replay(key, record, "enter", self._site, (), {}, None, self._reopen)
        if run.check_only and not is_compiled(cm):
            return CheckStub()
        if record is None:
            run.stop_if_unwinding()
        started = run.started(key, "enter", self._site, self._file)
        try:
            value = await self._enter()
        except Exception as exc:
            if run.fatal is None and record is None and not plumbing:
                await record_simple(scope.run, key, "enter", self._site, self._file, started, "error", exc)
            raise
        try:
            live = plumbing or value is None or value is cm or is_resource(value)
            if record is None and not run.check_only:
                value = await record_simple(scope.run, key, "enter", self._site, self._file, started,
                                                  "live" if live else "ok", value)
        except BaseException as exc:
            # Recording failed (or the run must stop): release what was acquired all the same.
            await self._exit(type(exc), exc, exc.__traceback__)
            raise
        return value

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        if not self._entered_live:
            return None  # the entry was replayed: nothing was acquired in this execution
        conn = commits_on_exit(self._cm, self._entered)
        if conn is None:
            return await self._exit(exc_type, exc, tb)
        return await self._commit_on_exit(conn, exc_type, exc, tb)

    async def _commit_on_exit(
        self, conn: object, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """A transaction block's exit: journaled as its commit, so that a replay knows whether
        the statements inside it were kept (transactions.py)."""
        scope = self._scope
        run = scope.run
        key = self._key + ">"
        if exc_type is not None:
            await run.pending.redo(conn, rollback=True)  # rolled back: nothing of it to redo
            return await self._exit(exc_type, exc, tb)
        if key in run.records:
            run.pending.committed(conn)
            return await self._exit(exc_type, exc, tb)
        await run.pending.redo(conn)
        started = run.started(key, "exit", self._site, self._file)
        suppress = await self._exit(exc_type, exc, tb)
        if not run.check_only:
            await record_simple(run, key, "exit", self._site, self._file, started, "ok", None)
        return suppress

    async def _reopen(self) -> Any:
        """Enter again for a replayed stream that must be read further; exited with the block."""
        return await self._enter()

    async def _enter(self) -> Any:
        token = active_scope.set(self._child)
        try:
            value = await self._cm.__aenter__()
        finally:
            active_scope.reset(token)
        self._entered_live = True
        self._entered = value
        return value

    async def _exit(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self._entered_live = False
        token = active_scope.set(self._child)
        try:
            return await self._cm.__aexit__(exc_type, exc, tb)
        finally:
            active_scope.reset(token)


def scope_coroutines(
    scope: RunScope, key: str, site: Site, file: str | None, args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any], bool]:
    """Give each coroutine argument of a step (gather's children) a step of its own."""
    found = False
    new_args = list(args)
    for index, arg in enumerate(args):
        if asyncio.iscoroutine(arg):
            new_args[index] = child_step(scope, f"{key}:{index}", site, file, arg)
            found = True
    new_kwargs = kwargs
    for name, value in kwargs.items():
        if asyncio.iscoroutine(value):
            if new_kwargs is kwargs:
                new_kwargs = dict(kwargs)
            new_kwargs[name] = child_step(scope, f"{key}:{name}", site, file, value)
            found = True
    return (tuple(new_args) if found else args), new_kwargs, found


async def child_step(
    scope: RunScope, key: str, site: Site, file: str | None, coroutine: Coroutine[Any, Any, Any],
    kind: str = "child",
) -> Any:
    """A concurrent child: a coroutine handed to a checkpoint (gather's children, keyed by
    position) or a task created by task code (spawn.py, keyed by creation order).

    Its outcome is journaled like a helper's, so a child that finished is not run again when
    the enclosing step is resumed. A child cancelled while the run goes on (its TaskGroup
    cancelled it after a sibling failed) records that, so replay cancels it the same way.
    """
    run = scope.run
    code = getattr(coroutine, "cr_code", None)
    child_site: Site = (code.co_qualname if code else type(coroutine).__qualname__, site[1], site[2])
    record: StepRecord | None = run.records.get(key)
    if record is not None:
        coroutine.close()
        if record.outcome == "cancelled":
            scope.verify(key, record, kind, child_site, (), {})
            raise asyncio.CancelledError(f"step {key} was cancelled")
        return await scope.replay(key, record, kind, child_site, (), {}, None)
    if run.suspend is not None or run.check_only:
        coroutine.close()
        run.stop_if_unwinding()
    started = run.started(key, kind, child_site, file)
    token = active_scope.set(RunScope(run, key, scope.policy))
    try:
        value = await coroutine
    except Exception as exc:
        if run.fatal is None:
            await record_simple(run, key, kind, child_site, file, started, "error", exc)
        raise
    except asyncio.CancelledError:
        if run.fatal is None and run.suspend is None:
            # Cancelled by its group, not by a stop of the run: that is part of the history.
            await asyncio.shield(
                record_simple(run, key, kind, child_site, file, started, "cancelled", None))
        raise
    finally:
        active_scope.reset(token)
    return await record_simple(run, key, kind, child_site, file, started, "ok", value)


def is_child_step(coroutine: Coroutine[Any, Any, Any]) -> bool:
    """Whether a coroutine is already a durable child (not to be wrapped again)."""
    return getattr(coroutine, "cr_code", None) is _CHILD_CODE



_CHILD_CODE = child_step.__code__
