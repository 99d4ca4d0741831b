"""Tasks created by task code (``TaskGroup.create_task``, ``asyncio.create_task``): durable children.

A task created while a run executes, by compiled code, becomes a child step of the scope that
created it, keyed by creation order like any step of that scope (``"3"`` for the scope's fourth
step), so its own steps are keyed ``"3.0"``, ``"3.1"``, ... whatever the timing. A child that
finished is not run again on resume (its outcome replays at once); one that was interrupted is
re-entered and replays up to where it stopped; a child cancelled by its group (a sibling failed)
records that, and replays as cancelled. Errors propagate as asyncio says (an ``ExceptionGroup``
from a TaskGroup).

The hook is the event loop's task factory, installed for the executions of runs: it sees every
task created in the loop, and wraps only coroutines created from compiled code while a run scope
is active. Tasks that libraries or durablec itself create are left as they are.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Coroutine, Generator
from typing import Any, Final

from durablec.runtime.abi import active_scope
from durablec.runtime.engine import RunScope, caller_file
from durablec.runtime.wrappers import child_step, is_child_step

__all__ = ["adopt", "child_key", "install_task_factory"]

_ASYNCIO: Final = asyncio.__file__.rsplit("/", 1)[0]

_KEYS: weakref.WeakKeyDictionary[asyncio.Future[Any], str] = weakref.WeakKeyDictionary()
"""The step key of each durable child task, for what keys children by it (completion.py)."""


def adopt(task: asyncio.Future[Any], key: str) -> None:
    """Remember that ``task`` is the durable child step ``key``."""
    _KEYS[task] = key


def child_key(future: asyncio.Future[Any]) -> str | None:
    """The step key of a durable child task, or None for any other future."""
    return _KEYS.get(future)


def install_task_factory(loop: asyncio.AbstractEventLoop) -> None:
    """Make tasks created by task code durable children on this loop (idempotent)."""
    current = loop.get_task_factory()
    if isinstance(current, _Factory):
        return
    loop.set_task_factory(_Factory(current))


class _Factory:
    """The loop's task factory, delegating to the one it replaced (if any)."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, loop: asyncio.AbstractEventLoop,
                 coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
                 **kwargs: Any) -> asyncio.Future[Any]:
        scope = active_scope.get()
        key = None
        if (isinstance(scope, RunScope) and isinstance(coro, Coroutine)
                and not is_child_step(coro)):
            line = _compiled_creator_line()
            if line is not None:
                code = getattr(coro, "cr_code", None)
                site = (code.co_qualname if code else type(coro).__qualname__, line, 0)
                key = scope.next_key()
                coro = child_step(scope, key, site, caller_file(_depth()), coro, "task")
        task: asyncio.Future[Any] = (
            self.previous(loop, coro, **kwargs) if self.previous is not None
            else asyncio.Task(coro, loop=loop, **kwargs))
        if key is not None:
            adopt(task, key)
        return task


def _compiled_creator_line() -> int | None:
    """The line of compiled code that created the task (through asyncio's own frames), if any."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_ASYNCIO):
        frame = frame.f_back  # type: ignore[assignment]  # the loop ends at a frame or None
    if frame is not None and "__dc_ckpt__" in frame.f_globals:
        return frame.f_lineno
    return None


def _depth() -> int:
    frame, depth = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith(_ASYNCIO)
                                 or frame.f_code.co_filename == __file__):
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]  # ends at None
    return depth
