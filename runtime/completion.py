"""``asyncio.as_completed`` and ``asyncio.wait`` over children of a run: completion order replayed.

The compiler hands these calls to the ABI's ``race`` entry (abi.py); in a run they come here.

- The awaitables become children of the run in the order given: a coroutine is made a durable
  child task keyed by creation order in the calling scope (as ``asyncio.create_task`` would be,
  spawn.py), a task the task's code created keeps its key. Any other future cannot be replayed
  and stops the run with an error naming the line.
- ``for fut in asyncio.as_completed(tasks): await fut``: each compiled ``await fut`` is a step of
  its own whose journaled value is the key of the child it got (a :class:`Recorded`, so the engine
  restores it, live or replayed, into that child's outcome). Replay marks that child consumed,
  so the first live ``await`` afterwards takes the first completed child not consumed yet
  (ties broken by creation order), and never one that replay already handed out.
- ``done, pending = await asyncio.wait(tasks, ...)`` is one step journaling the keys of the
  children that were done; replay returns the same split over this execution's tasks, after
  awaiting the done ones (they replay at once) so that their ``result()`` can be read.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable, Generator, Iterable
from typing import Any, Final

from durablec.errors import NonDeterminismError, UsageError
from durablec.runtime.abi import Site, site_callee
from durablec.runtime.context import place
from durablec.runtime.control import mark_settled
from durablec.runtime.engine import RunScope
from durablec.runtime.recording import record_ok
from durablec.runtime.spawn import adopt, child_key
from durablec.runtime.standins import Recorded, Reopen
from durablec.runtime.wrappers import child_step

__all__ = ["race"]

_ENGINE_AWAIT: Final = RunScope._await.__code__
"""The engine's live ``await`` step: an awaitable it awaits may hand back a Recorded."""

Children = dict[str, "asyncio.Future[Any]"]
"""Children of one call by step key, in creation order."""


def race(scope: RunScope, site: Site, fn: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any], file: str | None) -> Any:
    """``fn(*args, **kwargs)`` in a run, for the ABI's ``race`` entry."""
    if fn is asyncio.as_completed:
        fs = _fs(args, kwargs, ("timeout",))
        if fs is not None and kwargs.get("timeout") is None:
            state = _Race(scope, site, file, _children(scope, site, file, fs))
            return iter([_Next(state) for _ in state.children])
    elif fn is asyncio.wait:
        fs = _fs(args, kwargs, ("timeout", "return_when"))
        if fs is not None:
            key = scope.next_key()
            options = {name: value for name, value in kwargs.items() if name != "fs"}
            return _wait(scope, key, site, file, _children(scope, site, file, fs), options)
    # A timeout, unexpected arguments or a stand-in for asyncio's function: run it as written
    # (DC303 reports a timeout; asyncio raises for wrong arguments).
    return fn(*args, **kwargs)


def _fs(args: tuple[Any, ...], kwargs: dict[str, Any], options: tuple[str, ...]) -> Any:
    """The awaitables argument, when the call has asyncio's own signature; else None."""
    if not set(kwargs) <= {"fs", *options} or len(args) + ("fs" in kwargs) != 1:
        return None
    return args[0] if args else kwargs["fs"]


def _children(scope: RunScope, site: Site, file: str | None, fs: Iterable[Any]) -> Children:
    run = scope.run
    callee = site_callee(site)
    if isinstance(fs, (set, frozenset)) and any(asyncio.iscoroutine(aw) for aw in fs):
        raise run.fail(UsageError(
            f"{place(file, site[1])}: `{callee}` in run {run.run_id} is given a set of "
            "coroutines, whose order depends on memory addresses, so their keys would differ on "
            "replay. Pass a list (or create the tasks first)"))
    loop = asyncio.get_running_loop()
    children: Children = {}
    for aw in fs:
        if asyncio.iscoroutine(aw):
            # Made a child here rather than by the task factory, whose creator is this module.
            key = scope.next_key()
            task = loop.create_task(child_step(scope, key, site, file, aw, "task"))
            adopt(task, key)
            children[key] = task
            continue
        known = child_key(aw) if isinstance(aw, asyncio.Future) else None
        if known is None:
            raise run.fail(UsageError(
                f"{place(file, site[1])}: `{callee}` in run {run.run_id} waits on {aw!r}, which is "
                "not a child of the run (a task created by the task's compiled code), so the order "
                "in which it completes cannot be replayed. Create it in the task with "
                "`asyncio.create_task(...)` or a TaskGroup, or await it as a step of its own"))
        children[known] = aw
    return dict(sorted(children.items(), key=lambda item: _creation_order(item[0])))


def _creation_order(key: str) -> list[Any]:
    # "10" after "9": numbers compare as numbers. re.split with a group alternates text and
    # digits from a text part on, so two keys never compare a number with a text.
    parts: list[Any] = re.split(r"(\d+)", key)
    parts[1::2] = [int(p) for p in parts[1::2]]
    return parts


class _Race:
    """One ``as_completed`` call: its children, and which of them were handed out already."""

    def __init__(self, scope: RunScope, site: Site, file: str | None, children: Children) -> None:
        self.scope = scope
        self.site = site
        self.file = file
        self.children = children
        self.consumed: set[str] = set()

    async def next_live(self) -> str:
        """The first completed child not handed out yet (by creation order), waiting if none is."""
        while True:
            waiting = []
            for key, child in self.children.items():
                if key in self.consumed:
                    continue
                if child.done():
                    self.consumed.add(key)
                    return key
                waiting.append(child)
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)

    def outcome(self, key: str) -> Any:
        """Return or raise the outcome of child ``key``, marking it handed out."""
        child = self.children.get(key)
        run = self.scope.run
        if child is None:
            raise run.fail(NonDeterminismError(
                f"{place(self.file, self.site[1])}: run {run.run_id}: the journal says "
                f"`{site_callee(self.site)}` handed out child step {key}, which this call does not "
                f"wait on (it waits on {', '.join(self.children) or 'nothing'}). Restore the code "
                f"the run started with, then `durablec retry {run.run_id}`"))
        self.consumed.add(key)
        if child.done():
            return child.result()
        # Replayed before the child's own task replayed: its outcome is in the journal.
        child.add_done_callback(_retrieve)
        return _recorded_outcome(self.scope, key)


def _recorded_outcome(scope: RunScope, key: str) -> Any:
    run = scope.run
    record = run.records.get(key)
    if record is None or record.outcome not in ("ok", "error", "cancelled"):
        raise run.fail(NonDeterminismError(
            f"run {run.run_id}: completion-order step names child {key}, whose outcome the journal "
            f"does not hold. Restore the code the run started with, then `durablec retry {run.run_id}`"))
    if record.outcome == "cancelled":
        raise asyncio.CancelledError(f"step {key} was cancelled")
    value = run.outcome(key, record)
    if record.outcome == "error":
        raise mark_settled(value)
    return value.restore(None, None) if isinstance(value, Recorded) else value


def _retrieve(child: asyncio.Future[Any]) -> None:
    """Mark a child's error seen: the task got it from the journal, not from the child."""
    if not child.cancelled():
        child.exception()


class _Completed(Recorded):
    """What an ``await`` of an ``as_completed`` awaitable journals: the key of the child it got."""

    def __init__(self, key: str) -> None:
        self.key = key

    def restore(self, reopen: Reopen | None, receiver: object) -> Any:
        assert isinstance(receiver, _Next), "restored only for the awaitable that was awaited"
        return receiver.state.outcome(self.key)


class _Next:
    """One awaitable of ``as_completed`` in a run: the next child to complete, by journal."""

    __slots__ = ("state",)

    def __init__(self, state: _Race) -> None:
        self.state = state

    def __await__(self) -> Generator[Any, None, Any]:
        # Awaited by the engine's step (compiled `await fut`): hand it the child's key to journal.
        # Awaited anywhere else (a `# durablec: skip` line, asyncio.wait_for): the outcome itself.
        if sys._getframe(1).f_code is _ENGINE_AWAIT:
            return self._completed().__await__()
        return self._outcome().__await__()

    async def _completed(self) -> _Completed:
        return _Completed(await self.state.next_live())

    async def _outcome(self) -> Any:
        return self.state.outcome(await self.state.next_live())


async def _wait(scope: RunScope, key: str, site: Site, file: str | None, children: Children,
                options: dict[str, Any]) -> tuple[set[asyncio.Future[Any]], set[asyncio.Future[Any]]]:
    run = scope.run
    record = run.records.get(key)
    if record is not None and record.outcome != "live":
        done_keys = await scope.replay(key, record, "call", site, (), {}, None)
        missing = [k for k in done_keys if k not in children]
        if missing:
            raise run.fail(NonDeterminismError(
                f"{place(file, site[1])}: run {run.run_id}, step {key}: the journal says "
                f"`{site_callee(site)}` returned child steps {', '.join(missing)} done, which this "
                f"call does not wait on. Restore the code the run started with, then `durablec "
                f"retry {run.run_id}`"))
        done = {children[k] for k in done_keys}
        if done:
            await asyncio.wait(done)
        return done, {child for k, child in children.items() if k not in done_keys}
    if not children:
        raise ValueError("Set of Tasks/Futures is empty.")  # asyncio's own check, before a step
    run.stop_if_unwinding()
    started = run.started(key, "call", site, file)
    done, pending = await asyncio.wait(children.values(), **options)
    done_keys = [k for k, child in children.items() if child in done]
    await record_ok(run, key, 1, None, "call", site, file, started, done_keys, None, None, None, None)
    return done, pending

