"""Run data as the runtime hands it out: frozen records of runs, step attempts and events.

The store (``durablec.runtime.store``) builds these from the journal's rows, so nothing above it
sees a database row. :class:`RunRecord` is a run's whole row, payloads included, for the code that
executes runs; :class:`RunInfo`, :class:`StepInfo`, :class:`EventInfo` and :class:`Timeline` are
what :class:`~durablec.runtime.client.Client` returns: readable previews, no pickled bytes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, NamedTuple, get_args

__all__ = [
    "RUN_STATUSES", "TERMINAL", "EventInfo", "LeaseInfo", "QueueLoad", "RunFilter", "RunInfo",
    "RunPage", "RunRecord", "RunRows", "RunStatus", "RunSummary", "WorkerInfo",
    "StepInfo", "StepKind", "StepOutcome", "Timeline",
]

RunStatus = Literal[
    "pending", "running", "sleeping", "waiting", "paused", "completed", "failed",
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


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run as the journal describes it."""

    id: str
    task_id: str
    status: RunStatus
    created_at: float
    updated_at: float
    finished_at: float | None
    wake_at: float | None
    waiting_for: str | None
    error_type: str | None
    error_message: str | None
    result_repr: str | None
    args_repr: str | None
    parent_run_id: str | None
    lease_owner: str | None


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
        return RunInfo(
            self.id, self.task_id, self.status, self.created_at, self.updated_at,
            self.finished_at, self.wake_at, self.waiting_for, self.error_type,
            self.error_message, self.result_repr, self.args_repr, self.parent_run_id,
            self.lease_owner,
        )


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
class StepInfo:
    """One recorded attempt of a checkpoint (a row of ``durablec_steps``), for people.

    ``args`` is a readable preview of the arguments; ``result`` is the result's preview on
    success (None on an error, whose type and message are in ``error_type``/``error_message``).
    """

    id: int
    key: str
    attempt: int
    retry_of: int | None
    kind: StepKind
    callee: str
    file: str | None
    line: int
    col: int
    outcome: StepOutcome
    final: bool
    args: str
    result: str | None
    error_type: str | None
    error_message: str | None
    traceback: str | None
    http_status: int | None
    started_at: float
    finished_at: float

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.file else f"line {self.line}"

    @property
    def duration_ms(self) -> float:
        return round((self.finished_at - self.started_at) * 1000, 2)

    @property
    def error(self) -> str | None:
        return f"{self.error_type}: {self.error_message}" if self.outcome == "error" else None


@dataclass(frozen=True, slots=True)
class EventInfo:
    """An event sent to a run; ``consumed_key`` is the step that received it (None: unread)."""

    id: int
    name: str
    payload_repr: str | None
    consumed_key: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Timeline:
    """What happened in a run: the run, every step attempt and every event, in order."""

    run: RunInfo
    steps: tuple[StepInfo, ...]
    events: tuple[EventInfo, ...]

    def offset(self, step: StepInfo) -> float:
        """Seconds from the run's creation to the step's start, to the millisecond."""
        return round(step.started_at - self.run.created_at, 3)

    def step_entries(self) -> list[dict[str, Any]]:
        """The steps as ``durablec inspect --json`` shows them, times relative to the run's
        creation (one shape for the CLI and any later HTTP API)."""
        return [
            {
                "at": self.offset(step),
                "key": step.key,
                "kind": step.kind,
                "callee": step.callee,
                "where": step.where,
                "attempt": step.attempt,
                "outcome": step.outcome,
                "final": step.final,
                "duration_ms": step.duration_ms,
                "args": step.args,
                "result": step.result,
                "error": step.error,
                "http_status": step.http_status,
            }
            for step in self.steps
        ]

    def as_json(self) -> dict[str, Any]:
        return {"run": asdict(self.run), "steps": self.step_entries()}


@dataclass(frozen=True, slots=True)
class RunRows:
    """A run's rows as stored, every column by name (payloads as bytes): what an export holds."""

    run: dict[str, Any]
    steps: list[dict[str, Any]]
    events: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run as the dashboard lists it and heads its page: no payloads, every identifying
    column (queue, attempt, idempotency key, module hash)."""

    id: str
    task_id: str
    status: RunStatus
    queue: str | None
    attempt: int
    created_at: float
    updated_at: float
    finished_at: float | None
    parent_run_id: str | None
    idempotency_key: str | None
    module_hash: str | None
    waiting_for: str | None
    error_type: str | None
    error_message: str | None

    @property
    def duration_s(self) -> float:
        """Seconds from creation to the end, or to the last change of an unfinished run."""
        return round((self.finished_at or self.updated_at) - self.created_at, 3)


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which runs a listing shows: each field None means any. ``search`` matches a run id
    prefix, an idempotency key or a parent run id."""

    status: str | None = None
    task_id: str | None = None
    queue: str | None = None
    since: float | None = None
    until: float | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class RunPage:
    """One page of a listing, newest first; ``more``: a later page exists."""

    runs: tuple[RunSummary, ...]
    offset: int
    limit: int
    more: bool


@dataclass(frozen=True, slots=True)
class QueueLoad:
    """How many runs of one task on one queue are in one status."""

    queue: str | None
    task_id: str
    status: RunStatus
    count: int


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker seen through the leases it holds now."""

    owner: str
    host: str | None
    pid: int | None
    runs: int
    lease_expires_at: float
