"""``@durablec.step``: an async helper that is one checkpoint, its body live as a unit."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, ParamSpec, TypeVar, overload

from durablec.runtime.abi import Site, active_scope
from durablec.runtime.context import TaskPolicy
from durablec.runtime.engine import RunScope
from durablec.runtime.policy import DEFAULT_RETRY, Retry

__all__ = ["LiveScope", "step"]

P = ParamSpec("P")
R = TypeVar("R")


class LiveScope:
    """The scope inside a step's body: every await runs live, none is journaled.

    It remembers the step it runs for, so ``durablec.idempotency_key()`` inside the body names
    that step (stable across the step's retries).
    """

    __slots__ = ("step",)

    def __init__(self, step: RunScope | None) -> None:
        self.step = step

    def checkpoint(
        self, site: Site, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Awaitable[Any]:
        return fn(*args, **kwargs)

    def await_(self, site: Site, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        return awaitable

    def aiter(self, site: Site, iterable: AsyncIterable[Any]) -> AsyncIterable[Any]:
        return iterable

    def actx(
        self, site: Site, cm: AbstractAsyncContextManager[Any]
    ) -> AbstractAsyncContextManager[Any]:
        return cm

    def race(
        self, site: Site, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return fn(*args, **kwargs)


@overload
def step(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Callable[P, Coroutine[Any, Any, R]]: ...


@overload
def step(
    *, retry: Retry | None = None, timeout: float | None = None
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]: ...


def step(
    fn: Callable[P, Coroutine[Any, Any, R]] | None = None, /, *, retry: Retry | None = None,
    timeout: float | None = None,
) -> Any:
    """Make an async helper one checkpoint whose body runs live as a unit.

    Awaited in a task, the helper's outcome is journaled once and replayed whole; its own awaits
    are not journaled separately (the first-class form of ``# durablec: skip`` on a ``def``
    line). ``retry`` and ``timeout`` govern the step's attempts; without them it follows the
    policy of the task that awaits it (``timeout`` alone keeps the default retry policy). Use it for helpers that hold resources, run a database
    transaction, or call APIs that need their own retries.
    """

    def decorate(function: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(function)
        async def live_step(*args: P.args, **kwargs: P.kwargs) -> R:
            scope = active_scope.get()
            token = active_scope.set(LiveScope(scope if isinstance(scope, RunScope) else None))
            try:
                return await function(*args, **kwargs)
            finally:
                active_scope.reset(token)

        if retry is not None or timeout is not None:
            live_step.__durablec_policy__ = TaskPolicy(  # type: ignore[attr-defined]  # read by the engine
                retry or DEFAULT_RETRY, timeout)
        return live_step

    return decorate if fn is None else decorate(fn)
