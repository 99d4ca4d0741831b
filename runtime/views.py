"""Run data for people: the previews, timelines, counts and pages that the client, the CLI and
the dashboard show (re-exported by :mod:`durablec.runtime.model`, which loads this module on
first use: a process that only executes runs needs none of it)."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from durablec.runtime.model import TERMINAL, ExecutionInfo, RunStatus, StepKind, StepOutcome

__all__ = [
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
]


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
    queue: str | None = None
    concurrency_key: str | None = None
    dead_letter: str | None = None
    """The dead-letter queue a dead-lettered run sits in."""
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class StatusCount:
    """How many runs of one task on one queue are in one status."""

    task_id: str
    queue: str | None
    status: RunStatus
    count: int


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
    args_value: Any = None
    """The arguments as data: ``{"args": [...], "kwargs": {...}}`` with JSON values where they
    are JSON-representable and reprs otherwise (None when unreadable)."""
    result_value: Any = None
    """The result as a JSON value when it is JSON-representable, else its repr."""

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
class LogInfo:
    """A record the task wrote during a run: ``position`` is the key of the step the code was
    heading for when it wrote it (the step in progress, for a record written inside one);
    ``attempt`` counts the attempts of the code around it (the body and enclosing helpers)."""

    position: str
    attempt: int
    at: float
    level: int
    logger: str
    message: str
    file: str | None
    line: int | None

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)


@dataclass(frozen=True, slots=True)
class Timeline:
    """What happened in a run: the run, every step attempt and every event, in order."""

    run: RunInfo
    steps: tuple[StepInfo, ...]
    events: tuple[EventInfo, ...]
    children: tuple[RunInfo, ...] = ()
    """The runs this run started (``parent_run_id`` is this run), in creation order."""
    executions: tuple[ExecutionInfo, ...] = ()
    """The executions that ended on their own, by epoch."""
    logs: tuple[LogInfo, ...] = ()
    """What the task logged, in the order it was written."""

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
                "args_value": step.args_value,
                "result_value": step.result_value,
                "error": step.error,
                "traceback": user_traceback(step.traceback),
                "http_status": step.http_status,
            }
            for step in self.steps
        ]

    def entries(self) -> list[TimelineEntry]:
        """Everything that happened to the run, in time order: its creation, each step attempt
        (a retry says the delay since the attempt before), events sent and taken, child runs
        started, and where the run is now (its suspension, or its final outcome)."""
        run = self.run
        # Executions first: an execution's start sorts before a step that starts in the same
        # millisecond.
        found = [TimelineEntry(0.0, "created", f"run {run.id} of task {run.task_id}"),
                 *self._execution_entries()]
        by_id = {step.id: step for step in self.steps}
        taken_at: dict[str, float] = {}
        for step in self.steps:
            if step.key == "" and step.kind == "body":
                what, text = "body failed", "the task body raised; it runs again from its last step"
            elif step.retry_of is not None and step.retry_of in by_id:
                before = by_id[step.retry_of]
                delay = max(0.0, step.started_at - before.finished_at)
                what, text = "retry", f"after {_seconds(delay)}"
            else:
                what, text = "step", ""
            # A body attempt spans the steps inside it: it is shown where it failed.
            at = (round(step.finished_at - run.created_at, 3) if what == "body failed"
                  else self.offset(step))
            found.append(TimelineEntry(at, what, text, step))
            taken_at[step.key] = step.finished_at
        for event in self.events:
            found.append(TimelineEntry(round(event.created_at - run.created_at, 3), "event sent",
                                       f"{event.name} {event.payload_repr or ''}".rstrip()))
            if event.consumed_key is not None and event.consumed_key in taken_at:
                found.append(TimelineEntry(
                    round(taken_at[event.consumed_key] - run.created_at, 3), "event taken",
                    f"{event.name} by step {event.consumed_key}"))
        for log in self.logs:
            found.append(TimelineEntry(round(log.at - run.created_at, 3), "log",
                                       f"{log.level_name} {log.logger}: {log.message}"))
        for child in self.children:
            found.append(TimelineEntry(round(child.created_at - run.created_at, 3),
                                       "child started",
                                       f"run {child.id} of task {child.task_id} ({child.status})"))
        found.sort(key=lambda entry: entry.at)
        end = (run.finished_at if run.finished_at is not None else run.updated_at)
        found.append(TimelineEntry(round(end - run.created_at, 3), run.status, self.state()))
        return found

    def _execution_entries(self) -> list[TimelineEntry]:
        """Each execution's start and, when it suspended the run, its end; before an execution
        whose epoch follows a gap, the executions that ended without a record (killed, or their
        lease lost). The end that is still the run's state is the run's final entry."""
        created = self.run.created_at
        found: list[TimelineEntry] = []
        seen = 0
        for index, run in enumerate(self.executions):
            start = round(run.started_at - created, 3)
            lost = run.epoch - seen - 1
            if lost > 0:
                which = (f"execution {seen + 1}" if lost == 1
                         else f"executions {seen + 1}-{run.epoch - 1}")
                found.append(TimelineEntry(
                    start, "lost", f"{which} ended unrecorded: process killed or lease lost"))
            seen = run.epoch
            how = "resumed" if run.resumed else "started"
            found.append(TimelineEntry(start, how, (
                f"execution {run.epoch} on {run.worker}"
                + (f", {run.replayed} step{'' if run.replayed == 1 else 's'} replayed"
                   if run.resumed else ""))))
            final = index == len(self.executions) - 1 and run.status == self.run.status
            if run.status not in TERMINAL and not final:
                found.append(TimelineEntry(round(run.ended_at - created, 3), "suspended",
                                           run.reason or run.status))
        return found

    def state(self) -> str:
        """Where the run is, in words: what it waits for and until when, or how it ended."""
        run = self.run
        if run.status == "completed":
            return f"result {run.result_repr}" if run.result_repr is not None else "completed"
        if run.status == "sleeping" and run.wake_at is not None:
            return f"until {_clock(run.wake_at)}" + (f" ({run.waiting_for})" if run.waiting_for
                                                     else "")
        if run.status == "retrying":
            detail = f": {run.error_message}" if run.error_message else ""
            return f"next try at {_clock(run.wake_at)}{detail}" if run.wake_at else detail
        if run.status == "waiting":
            return f"for {run.waiting_for}" if run.waiting_for else "for an event"
        if run.error_type or run.error_message:
            return f"{run.error_type or 'error'}: {run.error_message or ''}".rstrip(": ")
        return run.waiting_for or ""

    def final_traceback(self) -> str | None:
        """The user's traceback of the error that ended the run (durablec's frames removed):
        that of the last failed attempt of the task body or, failing one, of the last step."""
        if self.run.status not in ("failed", "dead_lettered", "paused"):
            return None
        for step in reversed(self.steps):
            if step.outcome == "error" and step.traceback:
                return user_traceback(step.traceback)
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "run": asdict(self.run),
            "state": self.state(),
            "steps": self.step_entries(),
            "events": [asdict(event) for event in self.events],
            "children": [asdict(child) for child in self.children],
            "executions": [asdict(run) for run in self.executions],
            "logs": [{**asdict(log), "level_name": log.level_name} for log in self.logs],
            "timeline": [entry.as_json() for entry in self.entries()],
            "traceback": self.final_traceback(),
        }


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a run's history: seconds since its creation, what happened, in words, and
    the step attempt it was (None for the run's own events)."""

    at: float
    what: str
    text: str
    step: StepInfo | None = field(default=None)

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at, "what": self.what, "text": self.text,
                "step": None if self.step is None else self.step.id}


_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""The durablec package's directory: frames below it are the runtime's, not the user's."""


def user_traceback(text: str | None) -> str | None:
    """A traceback with durablec's own frames removed (the header and the error line kept)."""
    if not text:
        return text
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith('  File "'):
            path = line[len('  File "'):].split('"', 1)[0]
            skipping = os.path.abspath(path).startswith(_OWN)
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _clock(at: float) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


@dataclass(frozen=True, slots=True)
class RunCount:
    """How many runs of a task (on a queue) are in a status, and how many of them are due."""

    task_id: str
    queue: str | None
    status: str
    count: int
    due: int


@dataclass(frozen=True, slots=True)
class StoredTrace:
    """A run's OpenTelemetry trace: its root span's ids, the span it is a child of (if any), the
    sampling flags decided when the run was created, and when that was (the root span's start).
    Ids are the lowercase hex of W3C ``traceparent``."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    trace_flags: int
    created_at: float


@dataclass(frozen=True, slots=True)
class OpenExecution:
    """An execution that started and has not ended (yet, or ever: its process was killed)."""

    span_id: str
    started_at: float
    worker: str


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
