"""The ``@task`` decorator, the task registry, and handles on runs."""

from __future__ import annotations

import dis
import functools
import hashlib
import inspect
import sys
from collections.abc import Callable, Coroutine, Sequence
from types import CodeType
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from durablec.errors import NotCompiledError, UsageError
from durablec.runtime import abi
from durablec.runtime.context import TaskPolicy
from durablec.runtime.policy import DEFAULT_RETRY, Retry
from durablec.runtime.queue import Queue
from durablec.runtime.schedule import DEFAULT_CATCHUP_LIMIT, Catchup, Cron

if TYPE_CHECKING:
    from durablec.runtime.client import Handle

__all__ = ["Task", "lookup", "registered", "task"]

P = ParamSpec("P")
R = TypeVar("R")

_REGISTRY: dict[str, Task[Any, Any]] = {}
KeyOf = Callable[..., object]
"""Computes a run's concurrency key from its arguments: ``lambda order: order.tenant``."""

_AWAIT_OPS = frozenset({"GET_AWAITABLE", "GET_AITER", "BEFORE_ASYNC_WITH", "GET_ANEXT"})


class Task(Generic[P, R]):
    """A registered durable task; awaitable like the function it wraps."""

    def __init__(
        self,
        fn: Callable[P, Coroutine[Any, Any, R]],
        *,
        id: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        dead_letter: str | None = None,
        queue: Queue | str | None = None,
        concurrency: int | None = None,
        concurrency_key: KeyOf | None = None,
        cron: str | Sequence[str] | None = None,
        timezone: str = "UTC",
        catchup: Catchup = "skip",
        catchup_limit: int = DEFAULT_CATCHUP_LIMIT,
        overlap: bool = True,
    ) -> None:
        self.fn = fn
        self.id = id or fn.__qualname__
        self.retry = retry or DEFAULT_RETRY
        self.timeout = timeout
        self.dead_letter = dead_letter
        self.queue = _queue_of(self.id, queue, concurrency)
        self._key_of = concurrency_key
        self.cron = None if cron is None else _cron_of(
            self.id, cron, timezone=timezone, catchup=catchup, catchup_limit=catchup_limit,
            overlap=overlap)
        if self.cron is not None and self.signature is not None:
            try:
                self.signature.bind()
            except TypeError as exc:
                raise UsageError(
                    f"task {self.id!r}: its cron schedule starts runs without arguments, but the "
                    f"function needs some ({exc}); give them defaults, or add a schedule with "
                    "arguments: `durablec schedule add TARGET --cron EXPR --args JSON`"
                ) from None
        self.__durablec_policy__ = TaskPolicy(self.retry, timeout)
        self._module_hash: str | None = None
        self._compiled_checked = False
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<durablec task {self.id!r}>"

    def trigger(self, *args: P.args, **kwargs: P.kwargs) -> Handle[R]:
        """Start a separate run of this task; inside a run it is a child run, started once."""
        from durablec.runtime.client import trigger_task

        return trigger_task(self, args, kwargs)

    def concurrency_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        """The run's concurrency key from its arguments, by the task's ``concurrency_key``."""
        if self._key_of is None:
            return None
        try:
            key = self._key_of(*args, **kwargs)
        except Exception as exc:
            raise UsageError(
                f"task {self.id!r}: concurrency_key raised {type(exc).__name__}: {exc}; it is "
                "called with the run's arguments and must return the key (a string) or None"
            ) from exc
        return None if key is None else str(key)

    @property
    def module_hash(self) -> str | None:
        """SHA-256 of the file of the module the task was loaded from (None if unreadable)."""
        if self._module_hash is None:
            module = sys.modules.get(self.fn.__module__)
            path = getattr(module, "__file__", None)
            if path:
                try:
                    with open(path, "rb") as source:
                        self._module_hash = hashlib.sha256(source.read()).hexdigest()
                except OSError:
                    return None
        return self._module_hash

    @functools.cached_property
    def signature(self) -> inspect.Signature | None:
        """The function's signature (None if it has no readable one), read once: every new run's
        arguments are checked against it."""
        try:
            return inspect.signature(self.fn)
        except (TypeError, ValueError):
            return None

    def check_compiled(self) -> None:
        """Refuse to run durably a task whose module was not compiled by durablec."""
        if self._compiled_checked:
            return
        namespace = self.fn.__globals__
        bound = any(namespace.get(f"__dc_{name}__") is getattr(abi, name) for name in abi.ABI_NAMES)
        if not bound and _awaits(self.fn.__code__):
            path = self.fn.__code__.co_filename
            raise NotCompiledError(
                f"{path}:{self.fn.__code__.co_firstlineno}: task {self.id!r} comes from a module "
                "that durablec did not compile, so its awaits would not be checkpoints. Run it as "
                f"`durablec run {path}:{self.fn.__name__}` (compiles on import), or `durablec "
                "build` the package and import the built tree"
            )
        self._compiled_checked = True


def _queue_of(task_id: str, queue: Queue | str | None, concurrency: int | None) -> Queue | None:
    if concurrency is not None:
        if queue is not None:
            raise UsageError(
                f"task {task_id!r}: give either queue= or concurrency=, not both; set the limit "
                "on the queue: Queue(name, concurrency=N)"
            )
        return Queue(task_id, concurrency=concurrency)
    return Queue(queue) if isinstance(queue, str) else queue


def _cron_of(
    task_id: str, cron: str | Sequence[str], *, timezone: str, catchup: Catchup,
    catchup_limit: int, overlap: bool,
) -> Cron:
    try:
        return Cron.of(cron, timezone=timezone, catchup=catchup, catchup_limit=catchup_limit,
                       overlap=overlap)
    except UsageError as exc:
        raise UsageError(f"task {task_id!r}: {exc}") from None


def _awaits(code: CodeType) -> bool:
    for instruction in dis.get_instructions(code):
        if instruction.opname in _AWAIT_OPS:
            return True
    return any(isinstance(const, CodeType) and _awaits(const) for const in code.co_consts)


@overload
def task(fn: Callable[P, Coroutine[Any, Any, R]], /) -> Task[P, R]: ...


@overload
def task(
    *,
    id: str | None = None,
    retry: Retry | None = None,
    timeout: float | None = None,
    dead_letter: str | None = None,
    queue: Queue | str | None = None,
    concurrency: int | None = None,
    concurrency_key: KeyOf | None = None,
    cron: str | Sequence[str] | None = None,
    timezone: str = "UTC",
    catchup: Catchup = "skip",
    catchup_limit: int = DEFAULT_CATCHUP_LIMIT,
    overlap: bool = True,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Task[P, R]]: ...


def task(
    fn: Callable[P, Coroutine[Any, Any, R]] | None = None,
    /,
    *,
    id: str | None = None,
    retry: Retry | None = None,
    timeout: float | None = None,
    dead_letter: str | None = None,
    queue: Queue | str | None = None,
    concurrency: int | None = None,
    concurrency_key: KeyOf | None = None,
    cron: str | Sequence[str] | None = None,
    timezone: str = "UTC",
    catchup: Catchup = "skip",
    catchup_limit: int = DEFAULT_CATCHUP_LIMIT,
    overlap: bool = True,
) -> Task[P, R] | Callable[[Callable[P, Coroutine[Any, Any, R]]], Task[P, R]]:
    """Register an ``async def`` as a durable task (``@task`` or ``@task(id=..., retry=...)``).

    ``queue`` puts its runs on a named :class:`Queue` (limits shared with the other tasks on it);
    ``concurrency=N`` is short for a queue of its own with that limit; ``concurrency_key``
    computes each run's key for the queue's ``per_key`` limit from the run's arguments.

    ``cron`` (an expression or a list; six fields for seconds) makes workers that load the task
    start a run of it, without arguments, at each slot in ``timezone``; ``catchup`` and
    ``catchup_limit`` decide the slots missed while no worker ran, ``overlap=False`` skips a
    slot while the previous scheduled run is unfinished (docs/runtime.md, "Schedules").
    """

    def decorate(function: Callable[P, Coroutine[Any, Any, R]]) -> Task[P, R]:
        if not callable(function):
            raise UsageError(f"@task decorates an async function, not {function!r}")
        made = Task(function, id=id, retry=retry, timeout=timeout, dead_letter=dead_letter,
                    queue=queue, concurrency=concurrency, concurrency_key=concurrency_key,
                    cron=cron, timezone=timezone, catchup=catchup, catchup_limit=catchup_limit,
                    overlap=overlap)
        _REGISTRY[made.id] = made
        return made

    return decorate if fn is None else decorate(fn)


def as_task(target: Task[Any, Any] | Callable[..., Coroutine[Any, Any, Any]]) -> Task[Any, Any]:
    """A Task for a registered task or a plain async function (registered on first use)."""
    if isinstance(target, Task):
        return target
    found = _REGISTRY.get(target.__qualname__)
    if found is not None and found.fn is target:
        return found
    made: Task[Any, Any] = Task(target)
    _REGISTRY[made.id] = made
    return made


def lookup(task_id: str) -> Task[Any, Any]:
    found = _REGISTRY.get(task_id)
    if found is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UsageError(
            f"no task with id {task_id!r} is loaded in this process (loaded: {known}); load the "
            "module that defines it (e.g. pass its TARGET to `durablec worker`)"
        )
    return found


def registered() -> dict[str, Task[Any, Any]]:
    return dict(_REGISTRY)
