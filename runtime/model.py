"""Run data as the runtime hands it out: frozen records of runs, step attempts and events.

The store (``durablec.runtime.store``) builds these from the journal's rows, so nothing above it
sees a database row. :class:`RunRecord` is a run's whole row, payloads included, for the code that
executes runs; :class:`RunInfo`, :class:`StepInfo`, :class:`EventInfo` and :class:`Timeline` are
what :class:`~durablec.runtime.client.Client` returns: readable previews, no pickled bytes.

Those records for people live in views.py and load on first use (PEP 562): they are a dozen
frozen dataclasses, whose creation and compilation cost every process start about 7 ms, and a
process that only executes runs (a worker, a resume) needs none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, get_args

if TYPE_CHECKING:
    from durablec.runtime.views import (
        EventInfo,
        LogInfo,
        OpenExecution,
        QueueLoad,
        RunCount,
        RunFilter,
        RunInfo,
        RunPage,
        RunSummary,
        StatusCount,
        StepInfo,
        StoredTrace,
        Timeline,
        TimelineEntry,
        WorkerInfo,
        user_traceback,
    )

__all__ = [
    "RUN_STATUSES", "TERMINAL", "EventInfo", "ExecutionInfo", "LeaseInfo", "LogInfo", "OpenExecution", "QueueLoad", "RunCount",
    "RunFilter", "RunInfo", "RunPage", "RunRecord", "RunRows", "RunStatus", "RunSummary",
    "StatusCount", "StepInfo", "StepKind", "StepOutcome", "StoredTrace", "Timeline",
    "TimelineEntry", "WorkerInfo", "user_traceback",
]

RunStatus = Literal[
    "pending", "running", "sleeping", "retrying", "waiting", "paused", "completed", "failed",
    "dead_lettered", "cancelled",
]
RUN_STATUSES: Final[tuple[RunStatus, ...]] = get_args(RunStatus)
TERMINAL: Final[frozenset[str]] = frozenset({"completed", "failed", "dead_lettered", "cancelled"})
"""The statuses a run never leaves (except by ``retry``)."""

StepOutcome = Literal["ok", "error", "stop", "live", "cancelled"]
"""``live``: a resource entered or opened (never replayed); ``cancelled``: a child its group
cancelled."""
StepKind = Literal["call", "await", "iter", "enter", "exit", "child", "task", "body"]
"""``task``: a task created by task code; ``body``: a failed attempt of the task body itself."""


class RunRecord(NamedTuple):
    """A run's whole row (``durablec_runs``), payloads as the journal holds them.

    The defaults are those of a run just created, so a new run's record is its insert values.
    A NamedTuple rather than a frozen dataclass because every run builds one on its way in (and
    every claimed run one more): for these 26 fields it builds in 1 µs, a frozen dataclass in 3.
    """

    id: str
    task_id: str
    status: RunStatus
    created_at: float
    updated_at: float
    args: bytes | None = None
    args_repr: str | None = None
    result: bytes | None = None
    result_repr: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    dead_letter: str | None = None
    idempotency_key: str | None = None
    parent_run_id: str | None = None
    module_hash: str | None = None
    wake_at: float | None = None
    waiting_for: str | None = None
    attempt: int = 1
    lease_owner: str | None = None
    lease_host: str | None = None
    lease_pid: int | None = None
    lease_expires_at: float | None = None
    lease_epoch: int = 0
    finished_at: float | None = None
    queue: str | None = None
    concurrency_key: str | None = None

    def info(self) -> RunInfo:
        from durablec.runtime.views import RunInfo

        return RunInfo(
            self.id, self.task_id, self.status, self.created_at, self.updated_at,
            self.finished_at, self.wake_at, self.waiting_for, self.error_type,
            self.error_message, self.result_repr, self.args_repr, self.parent_run_id,
            self.lease_owner, self.queue, self.concurrency_key, self.dead_letter, self.attempt,
        )


@dataclass(frozen=True, slots=True)
class RunRows:
    """A run's rows as stored, every column by name (payloads as bytes): what an export holds."""

    run: dict[str, Any]
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who holds a run's lease, its columns named as in :class:`RunRecord`."""

    id: str
    lease_owner: str | None
    lease_host: str | None
    lease_pid: int | None
    lease_expires_at: float | None
    lease_epoch: int


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """One execution of a run that ended on its own (a killed or fenced-off one leaves none):
    ``epoch`` is its lease epoch, ``status`` the run's status when it ended and ``reason`` why
    (what a suspended run waits for, or the error)."""

    epoch: int
    worker: str
    resumed: bool
    started_at: float
    ended_at: float
    status: str
    reason: str | None
    wake_at: float | None
    waiting_for: str | None
    replayed: int
    live: int


_VIEWS: Final = frozenset({
    "EventInfo",
    "LogInfo",
    "OpenExecution",
    "QueueLoad",
    "RunCount",
    "RunFilter",
    "RunInfo",
    "RunPage",
    "RunSummary",
    "StatusCount",
    "StepInfo",
    "StoredTrace",
    "Timeline",
    "TimelineEntry",
    "WorkerInfo",
    "user_traceback",
})


def __getattr__(name: str) -> Any:
    if name not in _VIEWS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module("durablec.runtime.views"), name)
    globals()[name] = value  # later lookups skip this function
    return value
