"""OpenTelemetry in one process, read back from the SDK's in-memory exporters: the span tree and
its attributes, one trace across executions, propagation from the caller, and the metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import inspect, select, text

import durablec
from durablec.runtime.store import SCHEMA_VERSION, Journal
from durablec.runtime.store.schema import meta
from durablec.runtime.observer import observer
from durablec.runtime.telemetry import instrument
from durablec.runtime.worker import work

from helpers import Loader, rewind

# An observer that raises only warns (observer.py): here that is a failure.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TASKS = """
import durablec
from durablec import Retry
from opentelemetry import trace

TRIES = []

async def fetch(n):
    with trace.get_tracer("a.library").start_as_current_span("library call"):
        return n * 2

async def flaky():
    TRIES.append(1)
    if len(TRIES) < 2:
        raise ConnectionError("try again")
    return "ok"

async def helper(n):
    return await fetch(n) + 1

@durablec.task(id="traced", retry=Retry.fixed(0, max_attempts=3))
async def traced():
    a = await fetch(1)
    b = await flaky()
    c = await helper(2)
    return a, b, c

@durablec.task(id="parent")
async def parent():
    await fetch(1)
    traced.trigger()  # a child run, started from the parent's execution
    return "started"

@durablec.task(id="broken", retry=Retry.none())
async def broken():
    await fetch(1)
    raise ValueError("no")
"""


class Otel:
    """Providers of the SDK with in-memory exporters, and durablec's observer installed on them."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [point for resource in data.resource_metrics for scope in resource.scope_metrics
                for metric in scope.metrics if metric.name == name
                for point in metric.data.data_points]


@pytest.fixture
def otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Otel]:
    made = Otel()
    # Library code in tasks uses the global provider, as an instrumented library would.
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: made.tracer_provider)
    uninstall = instrument(made.tracer_provider, made.meter_provider)
    assert uninstall is not None
    yield made
    uninstall()
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()


def by_name(spans: list[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    found: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        found.setdefault(span.name, []).append(span)
    return found


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def test_span_tree_attributes_and_one_trace_across_executions(
        load: Loader, db_url: str, otel: Otel) -> None:
    mod = load(TASKS)
    assert durablec.run(mod.traced, db=db_url, run_id="t1") == (2, "ok", 5)
    spans = by_name(otel.finished())
    [root] = spans["run traced"]
    [execution] = spans["execute traced"]
    assert root.parent is None and root.context is not None and execution.context is not None
    trace_id = root.context.trace_id
    assert {s.context.trace_id for s in otel.finished() if s.context} == {trace_id}
    assert parent_of(execution) == root.context.span_id
    assert execution.attributes is not None
    assert execution.attributes["durablec.resumed"] is False
    assert execution.attributes["durablec.replayed"] == 0
    assert execution.attributes["durablec.status"] == "completed"
    # A span per live attempt, each a child of the execution (or of the helper's step).
    fetches = spans["step fetch"]
    retry, ok = spans["step flaky"]
    [helper] = spans["step helper"]
    assert [parent_of(s) for s in (retry, ok, helper)] == [execution.context.span_id] * 3
    assert retry.attributes is not None and ok.attributes is not None
    outcome = ("durablec.attempt", "durablec.step.outcome")
    assert [retry.attributes[name] for name in outcome] == [1, "retry"]
    assert [ok.attributes[name] for name in outcome] == [2, "ok"]
    assert retry.events[0].name == "exception"
    assert retry.events[0].attributes is not None
    assert retry.events[0].attributes["exception.type"] == "ConnectionError"
    assert helper.context is not None
    assert sorted(parent_of(s) or 0 for s in fetches) == sorted(
        [execution.context.span_id, helper.context.span_id])
    attributes = dict(fetches[0].attributes or {})
    assert attributes["durablec.run_id"] == "t1" and attributes["durablec.task_id"] == "traced"
    assert attributes["durablec.step.callee"] == "fetch"
    assert attributes["durablec.step.key"] in ("0", "2.0")
    assert str(attributes["code.filepath"]).endswith(".py") and attributes["code.lineno"]
    # A library's span opened inside the step nests under that step's span.
    libraries = spans["library call"]
    assert {parent_of(s) for s in libraries} == {s.context.span_id for s in fetches if s.context}

    # A crash after three rows (fetch, flaky's two attempts): the resumed execution replays
    # steps 0 and 1 and joins the same trace.
    otel.spans.clear()
    rewind(db_url, "t1", keep=3)
    assert durablec.run(mod.traced, db=db_url, run_id="t1") == (2, "ok", 5)
    spans = by_name(otel.finished())
    [again] = spans["execute traced"]
    [root_again] = spans["run traced"]
    assert root_again.context is not None and again.context is not None
    assert (root_again.context.trace_id, root_again.context.span_id) == (
        trace_id, root.context.span_id)
    assert root_again.start_time == root.start_time  # the run's creation, not this execution's
    assert parent_of(again) == root.context.span_id
    assert again.attributes is not None
    assert again.attributes["durablec.resumed"] is True
    assert again.attributes["durablec.replayed"] == 2
    assert "step flaky" not in spans and len(spans["step helper"]) == 1  # replayed: no span


def test_run_and_trigger_inside_a_span_are_its_children(
        load: Loader, sqlite_url: str, otel: Otel) -> None:
    mod = load(TASKS)
    request = otel.tracer_provider.get_tracer("web")
    with request.start_as_current_span("POST /run") as outer:
        durablec.run(mod.traced, db=sqlite_url)
        assert trace.get_current_span() is outer  # the run's spans were detached
    [root] = by_name(otel.finished())["run traced"]
    assert root.context is not None and root.parent is not None
    assert (root.context.trace_id, root.parent.span_id) == (
        outer.get_span_context().trace_id, outer.get_span_context().span_id)

    otel.spans.clear()
    with request.start_as_current_span("POST /trigger") as enqueue:
        handle = durablec.Client(sqlite_url).trigger(mod.traced)
    asyncio.run(work(sqlite_url, [mod.traced], until_idle=True))  # no span current here
    [root] = by_name(otel.finished())["run traced"]
    assert root.context is not None and root.parent is not None
    assert (root.context.trace_id, root.parent.span_id) == (
        enqueue.get_span_context().trace_id, enqueue.get_span_context().span_id)
    assert root.attributes is not None and root.attributes["durablec.run_id"] == handle.run_id


def test_a_child_run_is_a_child_of_the_span_that_started_it(
        load: Loader, sqlite_url: str, otel: Otel) -> None:
    mod = load(TASKS)
    durablec.Client(sqlite_url).trigger(mod.parent)
    asyncio.run(work(sqlite_url, [mod.parent, mod.traced], until_idle=True))
    spans = by_name(otel.finished())
    [started_in] = spans["execute parent"]
    [child] = spans["run traced"]
    assert started_in.context is not None and child.context is not None
    assert child.context.trace_id == started_in.context.trace_id
    assert parent_of(child) == started_in.context.span_id


def test_a_failed_run_and_the_metrics(load: Loader, db_url: str, otel: Otel) -> None:
    mod = load(TASKS)
    durablec.run(mod.traced, db=db_url)
    with pytest.raises(ValueError):
        durablec.run(mod.broken, db=db_url)
    spans = by_name(otel.finished())
    [root] = spans["run broken"]
    [execution] = spans["execute broken"]
    assert root.status.is_ok is False and execution.status.is_ok is False
    assert [event.name for event in execution.events] == ["exception"]  # the body's attempt
    counts = {(p.attributes["durablec.task_id"], name[14:]): p.value
              for name in ("durablec.runs.started", "durablec.runs.completed",
                           "durablec.runs.failed")
              for p in otel.points(name)}
    assert counts == {("traced", "started"): 1, ("broken", "started"): 1,
                      ("traced", "completed"): 1, ("broken", "failed"): 1}
    [retries] = otel.points("durablec.step.retries")
    assert (retries.attributes["durablec.step.callee"], retries.value) == ("flaky", 1)
    durations = {(p.attributes["durablec.step.callee"], p.attributes["durablec.step.outcome"]):
                 p.count for p in otel.points("durablec.step.duration")}
    assert durations[("fetch", "ok")] == 3 and durations[("flaky", "retry")] == 1
    assert all(p.min >= 0 for p in otel.points("durablec.step.record.duration"))
    statuses = {(p.attributes["durablec.task_id"], p.attributes["durablec.status"]): p.value
                for p in otel.points("durablec.runs")}
    assert statuses == {("traced", "completed"): 1, ("broken", "failed"): 1}
    durablec.Client(db_url).trigger(mod.traced)
    depth = {p.attributes["durablec.task_id"]: p.value for p in otel.points("durablec.queue.depth")}
    assert depth == {"traced": 1, "broken": 0}


def test_an_existing_journal_gains_the_traces_table_without_a_new_version(db_url: str) -> None:
    journal = Journal(db_url)
    with journal.begin() as conn:
        conn.execute(text("DROP TABLE durablec_traces"))  # a journal from before this table
    journal.close()
    journal = Journal(db_url)
    assert "durablec_traces" in inspect(journal.engine).get_table_names()
    with journal.begin() as conn:
        version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    assert version == str(SCHEMA_VERSION)
    journal.close()


def test_nothing_is_installed_without_a_provider() -> None:
    assert instrument() is None  # the API's default providers: no SDK configured
    assert observer() is None
