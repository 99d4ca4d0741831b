"""OpenTelemetry for durable runs: one trace per run, a span per execution and per step attempt,
and metrics (docs/telemetry.md). Needs the ``otel`` extra; nothing else in the runtime imports it.

:func:`instrument` installs :class:`Telemetry`, a step observer (observer.py), on OpenTelemetry SDK
providers. A run's trace outlives any one process: its ids are chosen when the run is created (as
a child of the creator's active span, if any) and kept in the journal (store/traces.py). Every
execution, on whatever worker, starts its span under the run's root span from those ids; the root
span itself is emitted once, by the execution that ends the run, with the ids chosen at creation
and the creation time as its start. An execution that never ended (its process was killed) has
its span emitted by the next one. Replayed steps emit nothing: an execution span counts them.

Spans are made current while they are open (the execution span around the task body, a step span
around its call), so spans of instrumented libraries nest under the step that made the call.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, Status, StatusCode, TraceFlags

from durablec.runtime.model import TERMINAL, OpenExecution, StoredTrace
from durablec.runtime.observer import StepEvent, StepObserver, StepOutcome, install
from durablec.runtime.store import (
    Journal,
    begin_execution,
    end_execution,
    keep_trace,
    now,
    run_counts,
)

__all__ = ["Telemetry", "instrument"]

_SCOPE = "durablec"
_FAILED = frozenset({"failed", "dead_lettered"})
_IDS = RandomIdGenerator()


class _PresetIds(RandomIdGenerator):
    """The id generator of the tracer for spans whose ids are chosen before they start: a run's
    root span (chosen at creation), execution spans (recorded in the journal first), and the span
    of an execution that never ended (OpenTelemetry has no API to start a span with given ids)."""

    preset: ContextVar[tuple[int, int] | None] = ContextVar("durablec_span_ids", default=None)

    def generate_trace_id(self) -> int:
        chosen = self.preset.get()
        return super().generate_trace_id() if chosen is None else chosen[0]

    def generate_span_id(self) -> int:
        chosen = self.preset.get()
        return super().generate_span_id() if chosen is None else chosen[1]


@dataclass(slots=True)
class _Step:
    """A live step attempt in flight: its span (when tracing) and when it began."""

    span: Span | None
    token: Token[Context] | None
    began: float


@dataclass(slots=True)
class _Execution:
    """One execution of a run in this process."""

    journal: Journal
    task_id: str
    trace: StoredTrace | None
    span: Span | None = None
    token: Token[Context] | None = None
    steps: dict[tuple[str, int], _Step] = field(default_factory=dict)


class Telemetry(StepObserver):
    """A step observer that emits spans on an SDK tracer provider and metrics on an SDK meter
    provider (either may be None: that signal is off)."""

    def __init__(self, tracer_provider: TracerProvider | None,
                 meter_provider: MeterProvider | None) -> None:
        self.provider = tracer_provider
        self.tracer: trace.Tracer | None = None
        self.chosen: trace.Tracer | None = None
        if tracer_provider is not None:
            # Run and execution spans get ids chosen before they start; a tracer of their own
            # (scope durablec.run) so that the preset ids reach no other span.
            chosen = tracer_provider.get_tracer(f"{_SCOPE}.run")
            if isinstance(chosen, SdkTracer):  # not when OTEL_SDK_DISABLED made it a no-op
                chosen.id_generator = _PresetIds()
                self.chosen = chosen
                self.tracer = tracer_provider.get_tracer(_SCOPE)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.journals: dict[str, Journal] = {}
        self.opening: dict[str, Journal] = {}
        self.executions: dict[str, _Execution] = {}
        self.meters = None if meter_provider is None else _Meters(meter_provider, self)

    def watch(self, journal: Journal) -> None:
        """Report the run gauges of ``journal`` (the journals of runs seen here are added too)."""
        self.journals.setdefault(journal.url, journal)

    # -- runs ---------------------------------------------------------------------------------

    def run_created(self, journal: Journal, run_id: str, task_id: str) -> None:
        self.watch(journal)
        if self.tracer is not None:
            keep_trace(journal, run_id, self._new_trace())

    def run_opened(self, journal: Journal, run_id: str) -> None:
        self.watch(journal)
        self.opening[run_id] = journal

    def run_started(self, run_id: str, task_id: str, resumed: bool) -> None:
        journal = self.opening.pop(run_id)
        execution = self.executions[run_id] = _Execution(journal, task_id, None)
        if self.tracer is not None:
            span_id = f"{_IDS.generate_span_id():016x}"
            # A run created with tracing off (or by a process without it) gets its trace at its
            # first traced execution, as a child of what is current there.
            stored, lost = begin_execution(journal, run_id, self._new_trace(),
                                           OpenExecution(span_id, now(), self.worker))
            execution.trace = stored
            if lost is not None:
                self._lost(run_id, execution, lost)
            span = self._chosen(f"execute {task_id}", span_id, stored,
                                _under(stored, stored.span_id), None,
                                {"durablec.run_id": run_id, "durablec.task_id": task_id,
                                 "durablec.resumed": resumed, "durablec.worker": self.worker})
            execution.span = span
            execution.token = otel_context.attach(trace.set_span_in_context(span))
        if self.meters is not None and not resumed:
            self.meters.started.add(1, {"durablec.task_id": task_id})

    def run_ended(self, run_id: str, status: str, replayed: int, live: int) -> None:
        execution = self.executions.pop(run_id)
        for step in execution.steps.values():
            # Stopped inside the step (a suspension, a lost lease, a failed write): no outcome.
            if step.span is not None:
                step.span.set_attribute("durablec.step.outcome", "interrupted")
                step.span.end()
        span = execution.span
        if span is not None:
            span.set_attributes({"durablec.status": status, "durablec.replayed": replayed,
                                 "durablec.live_steps": live})
            if status in _FAILED:
                span.set_status(Status(StatusCode.ERROR, f"run {status}"))
            span.end()
            end_execution(execution.journal, run_id, f"{span.get_span_context().span_id:016x}")
        if execution.token is not None:
            # Restores the caller's context, also past step spans a suspension left attached.
            otel_context.detach(execution.token)
        if status in TERMINAL and execution.trace is not None:
            self._root(run_id, execution, status)
        if self.meters is not None and status in TERMINAL:
            counter = self.meters.failed if status in _FAILED else self.meters.completed
            counter.add(1, {"durablec.task_id": execution.task_id, "durablec.status": status})

    # -- steps --------------------------------------------------------------------------------

    def step_started(self, event: StepEvent) -> None:
        execution = self.executions[event.run_id]
        span = token = None
        if self.tracer is not None:
            span = self.tracer.start_span(f"step {event.callee}", attributes={
                "durablec.run_id": event.run_id, "durablec.task_id": execution.task_id,
                "durablec.step.key": event.key, "durablec.step.callee": event.callee,
                "durablec.step.kind": event.kind, "code.filepath": event.file or "",
                "code.lineno": event.line, "durablec.attempt": event.attempt})
            token = otel_context.attach(trace.set_span_in_context(span))
        # Taken last, so that the commit latency below does not count this hook's own work.
        execution.steps[event.key, event.attempt] = _Step(span, token, now())

    def step_ended(self, event: StepEvent, outcome: StepOutcome, error: BaseException | None,
                   duration: float) -> None:
        execution = self.executions[event.run_id]
        step = execution.steps.pop((event.key, event.attempt), None)
        if step is None:
            # A failed attempt of the task body (it has no step_started): an event of the execution.
            if execution.span is not None and error is not None:
                execution.span.record_exception(error, {"durablec.attempt": event.attempt,
                                                        "durablec.step.outcome": outcome})
        elif step.span is not None:
            step.span.set_attribute("durablec.step.outcome", outcome)
            if error is not None:
                step.span.record_exception(error)
                step.span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            step.span.end()
        if step is not None and step.token is not None:
            otel_context.detach(step.token)
        if self.meters is not None:
            self.meters.step(event, outcome, duration, step.began if step is not None else None)

    # -- traces -------------------------------------------------------------------------------

    def _new_trace(self) -> StoredTrace:
        """Ids for a new run's trace: a child of the current span if there is one."""
        assert self.provider is not None
        parent = trace.get_current_span().get_span_context()
        trace_id = parent.trace_id if parent.is_valid else _IDS.generate_trace_id()
        span_id = _IDS.generate_span_id()
        decision = self.provider.sampler.should_sample(
            otel_context.get_current() if parent.is_valid else Context(), trace_id, "run")
        flags = (int(parent.trace_flags) & ~TraceFlags.SAMPLED if parent.is_valid else 0)
        if decision.decision == Decision.RECORD_AND_SAMPLE:
            flags |= TraceFlags.SAMPLED
        return StoredTrace(f"{trace_id:032x}", f"{span_id:016x}",
                           f"{parent.span_id:016x}" if parent.is_valid else None, flags, now())

    def _root(self, run_id: str, execution: _Execution, status: str) -> None:
        """Emit the run's root span, with the ids and start time it was given at creation."""
        stored = execution.trace
        assert stored is not None
        parent = (Context() if stored.parent_span_id is None
                  else _under(stored, stored.parent_span_id))
        span = self._chosen(f"run {execution.task_id}", stored.span_id, stored, parent,
                            stored.created_at, {"durablec.run_id": run_id,
                                                "durablec.task_id": execution.task_id,
                                                "durablec.status": status})
        if status in _FAILED:
            span.set_status(Status(StatusCode.ERROR, f"run {status}"))
        span.end()

    def _lost(self, run_id: str, execution: _Execution, lost: OpenExecution) -> None:
        """Emit the span of an execution that never ended (its process died), up to now."""
        stored = execution.trace
        assert stored is not None
        span = self._chosen(f"execute {execution.task_id}", lost.span_id, stored,
                            _under(stored, stored.span_id), lost.started_at,
                            {"durablec.run_id": run_id, "durablec.task_id": execution.task_id,
                             "durablec.worker": lost.worker, "durablec.status": "interrupted"})
        span.set_status(Status(StatusCode.ERROR, "the execution never ended: its process was "
                               "killed or lost its lease; the next execution resumed the run"))
        span.end()

    def _chosen(self, name: str, span_id: str, stored: StoredTrace, parent: Context,
                start: float | None, attributes: dict[str, str | bool]) -> Span:
        """A span of the run's trace with the id ``span_id``, started at ``start`` (or now)."""
        assert self.chosen is not None
        token = _PresetIds.preset.set((int(stored.trace_id, 16), int(span_id, 16)))
        try:
            return self.chosen.start_span(
                name, context=parent, attributes=attributes,
                start_time=None if start is None else int(start * 1e9))
        finally:
            _PresetIds.preset.reset(token)


def _under(stored: StoredTrace, span_id: str) -> Context:
    """A context whose current span is the (remote) span ``span_id`` of the run's trace."""
    return trace.set_span_in_context(NonRecordingSpan(SpanContext(
        int(stored.trace_id, 16), int(span_id, 16), is_remote=True,
        trace_flags=TraceFlags(stored.trace_flags))))


class _Meters:
    """The instruments: counters and histograms fed by the observer, gauges read from journals."""

    def __init__(self, provider: MeterProvider, telemetry: Telemetry) -> None:
        meter = provider.get_meter(_SCOPE)
        self.telemetry = telemetry
        self.started = meter.create_counter(
            "durablec.runs.started", "{run}", "Runs whose first execution began")
        self.completed = meter.create_counter(
            "durablec.runs.completed", "{run}", "Runs that completed")
        self.failed = meter.create_counter(
            "durablec.runs.failed", "{run}", "Runs that failed or were dead-lettered")
        self.retries = meter.create_counter(
            "durablec.step.retries", "{attempt}", "Failed attempts that will be tried again")
        self.duration = meter.create_histogram(
            "durablec.step.duration", "s", "Time a live step attempt took, up to its outcome")
        self.record = meter.create_histogram(
            "durablec.step.record.duration", "s",
            "From a step's outcome to its row committed and the task resumed: pickling, the "
            "wait for the group commit, the commit")
        meter.create_observable_gauge("durablec.runs", [self._runs], "{run}", "Runs per status")
        meter.create_observable_gauge("durablec.queue.depth", [self._due], "{run}",
                                      "Runs a worker could claim now")

    def step(self, event: StepEvent, outcome: StepOutcome, duration: float,
             began: float | None) -> None:
        attributes = {"durablec.step.callee": event.callee, "durablec.step.kind": event.kind,
                      "durablec.step.outcome": outcome}
        if outcome == "retry":
            self.retries.add(1, {"durablec.step.callee": event.callee})
        if began is None:
            return  # the task body's attempt: an execution, not a step
        self.duration.record(duration, attributes)
        self.record.record(max(0.0, now() - began - duration), attributes)

    def _runs(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(count.count, {"durablec.task_id": count.task_id,
                                          "durablec.status": count.status})
                for journal in tuple(self.telemetry.journals.values())
                for count in run_counts(journal)]

    def _due(self, options: CallbackOptions) -> Iterable[Observation]:
        depth: dict[tuple[str, str], int] = {}
        for journal in tuple(self.telemetry.journals.values()):
            for count in run_counts(journal):
                where = (count.queue or "", count.task_id)
                depth[where] = depth.get(where, 0) + count.due
        return [Observation(n, {"durablec.queue": queue, "durablec.task_id": task_id})
                for (queue, task_id), n in depth.items()]


def instrument(tracer_provider: object | None = None, meter_provider: object | None = None,
               journal: Journal | None = None) -> Callable[[], None] | None:
    """Emit durablec's traces and metrics through these providers (default: the global ones).

    A provider that is not the OpenTelemetry SDK's (none was configured: the API's no-op
    default) leaves its signal off; with both off nothing is installed and None is returned.
    ``journal`` is one whose run gauges to report from the start. Returns the uninstaller.
    """
    tracing = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    metering = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    hooks = Telemetry(tracing if isinstance(tracing, TracerProvider) else None,
                      metering if isinstance(metering, MeterProvider) else None)
    if hooks.tracer is None and hooks.meters is None:
        return None
    if journal is not None:
        hooks.watch(journal)
    return install(hooks)
