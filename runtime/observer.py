"""The step observer: one seam through which logs, traces, metrics and tests watch runs.

An observer is any object with some of the methods of :class:`StepObserver` (each is optional;
:class:`StepObserver` itself does nothing and can be subclassed). :func:`observe` installs one for
this process; the engine calls it when this process creates a run, at an execution's start and
end, and at each step's live start, live end and replay. With no observer installed the hot path
pays one attribute check per step.
Observers must not raise: an exception in one is reported as a warning and the run goes on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from durablec.runtime.journal import Journal

__all__ = ["StepEvent", "StepObserver", "StepOutcome", "install", "observe", "observer"]

StepOutcome = Literal["ok", "error", "retry", "stop", "live"]
"""How a live attempt ended: ``retry`` is a failed attempt that will be tried again."""


@dataclass(frozen=True, slots=True)
class StepEvent:
    """One step attempt as observers see it."""

    run_id: str
    key: str
    kind: str
    callee: str
    file: str | None
    line: int
    attempt: int


class StepObserver:
    """Hooks called by the runtime; override the ones you need (all do nothing here)."""

    def run_created(self, journal: Journal, run_id: str, task_id: str) -> None:
        """This process inserted a new run (a trigger, a child run, ``run`` with a new run id).
        Called in the creator's context, so an observer can keep with the run what that context
        holds (the trace of the request that started it)."""

    def run_opened(self, journal: Journal, run_id: str) -> None:
        """An execution of run ``run_id`` is about to start on ``journal`` (just before
        :meth:`run_started`), for an observer that reads what it keeps with the run."""

    def run_started(self, run_id: str, task_id: str, resumed: bool) -> None:
        """An execution of a run begins (``resumed``: it has a journal to replay)."""

    def run_ended(self, run_id: str, status: str, replayed: int, live: int) -> None:
        """An execution ends: the run's status then (completed, failed, sleeping, ...), with how
        many steps it replayed and how many it recorded."""

    def step_started(self, event: StepEvent) -> None:
        """A live attempt of a step begins."""

    def step_ended(self, event: StepEvent, outcome: StepOutcome, error: BaseException | None,
                   duration: float) -> None:
        """A live attempt's outcome was recorded."""

    def step_replayed(self, event: StepEvent, outcome: str) -> None:
        """A step returned its recorded outcome without running."""


class _Fanout(StepObserver):
    """Several observers as one; each call reaches every observer, in installation order."""

    def __init__(self, observers: tuple[StepObserver, ...]) -> None:
        self.observers = observers

    def run_created(self, journal: Journal, run_id: str, task_id: str) -> None:
        for each in self.observers:
            _safely(each.run_created, journal, run_id, task_id)

    def run_opened(self, journal: Journal, run_id: str) -> None:
        for each in self.observers:
            _safely(each.run_opened, journal, run_id)

    def run_started(self, run_id: str, task_id: str, resumed: bool) -> None:
        for each in self.observers:
            _safely(each.run_started, run_id, task_id, resumed)

    def run_ended(self, run_id: str, status: str, replayed: int, live: int) -> None:
        for each in self.observers:
            _safely(each.run_ended, run_id, status, replayed, live)

    def step_started(self, event: StepEvent) -> None:
        for each in self.observers:
            _safely(each.step_started, event)

    def step_ended(self, event: StepEvent, outcome: StepOutcome, error: BaseException | None,
                   duration: float) -> None:
        for each in self.observers:
            _safely(each.step_ended, event, outcome, error, duration)

    def step_replayed(self, event: StepEvent, outcome: str) -> None:
        for each in self.observers:
            _safely(each.step_replayed, event, outcome)


def _safely(hook: object, *args: object) -> None:
    try:
        hook(*args)  # type: ignore[operator]  # one of StepObserver's methods
    except Exception as exc:  # noqa: BLE001 - an observer never breaks a run
        warnings.warn(f"durablec observer {hook!r} raised {type(exc).__name__}: {exc}",
                      RuntimeWarning, stacklevel=2)


_INSTALLED: list[StepObserver] = []
_CURRENT: list[StepObserver | None] = [None]


def observer() -> StepObserver | None:
    """The observer executions started now report to (None when none is installed)."""
    return _CURRENT[0]


def install(hooks: StepObserver) -> Callable[[], None]:
    """Install ``hooks`` for the executions this process starts from now on; returns the
    function that uninstalls them."""
    _INSTALLED.append(hooks)
    _CURRENT[0] = _Fanout(tuple(_INSTALLED))

    def uninstall() -> None:
        if hooks in _INSTALLED:
            _INSTALLED.remove(hooks)
        _CURRENT[0] = _Fanout(tuple(_INSTALLED)) if _INSTALLED else None

    return uninstall


@contextmanager
def observe(hooks: StepObserver) -> Iterator[StepObserver]:
    """Install ``hooks`` for executions started inside the ``with`` block (nestable)."""
    uninstall = install(hooks)
    try:
        yield hooks
    finally:
        uninstall()
