"""Store operations on a run's OpenTelemetry trace (for runtime/telemetry.py).

A run's trace context lives in ``durablec_traces`` so that each execution of the run, in any
process, joins one trace (:class:`~durablec.runtime.model.StoredTrace`), and the execution in
progress is recorded there so that the next one can emit its span if it never ended. None of
this imports OpenTelemetry: ids are kept as the lowercase hex of W3C ``traceparent``.
"""

from __future__ import annotations

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from durablec.runtime.model import OpenExecution, StoredTrace
from durablec.runtime.store.database import Journal
from durablec.runtime.store.schema import traces

__all__ = ["begin_execution", "end_execution", "keep_trace", "load_trace"]


def load_trace(journal: Journal, run_id: str) -> StoredTrace | None:
    with journal.begin() as conn:
        row = conn.execute(
            select(traces.c.trace_id, traces.c.span_id, traces.c.parent_span_id,
                   traces.c.trace_flags, traces.c.created_at).where(traces.c.run_id == run_id)
        ).one_or_none()
    return None if row is None else StoredTrace(*row)


def keep_trace(journal: Journal, run_id: str, trace: StoredTrace) -> StoredTrace:
    """Store ``trace`` as the run's unless it has one already; returns the one that is kept (two
    first executions racing agree on the first one committed)."""
    try:
        with journal.begin() as conn:
            conn.execute(insert(traces).values(_values(run_id, trace)))
        return trace
    except IntegrityError:
        found = load_trace(journal, run_id)
        assert found is not None  # the row that made the insert conflict
        return found


def begin_execution(
    journal: Journal, run_id: str, fresh: StoredTrace, execution: OpenExecution
) -> tuple[StoredTrace, OpenExecution | None]:
    """In one transaction: the run's trace (``fresh`` becomes it when it has none) and
    ``execution`` recorded as the one in progress. Returns the trace and the execution this one
    replaces, which never ended."""
    for last in (False, True):
        try:
            with journal.begin() as conn:
                row = conn.execute(select(traces).where(traces.c.run_id == run_id)).one_or_none()
                now_open = {"execution_span_id": execution.span_id,
                            "execution_started_at": execution.started_at,
                            "execution_worker": execution.worker}
                if row is None:
                    conn.execute(insert(traces).values({**_values(run_id, fresh), **now_open}))
                    return fresh, None
                conn.execute(update(traces).where(traces.c.run_id == run_id).values(now_open))
        except IntegrityError:
            if last:
                raise
            continue  # the run's creator stored its trace meanwhile: read it
        stored = StoredTrace(row.trace_id, row.span_id, row.parent_span_id, row.trace_flags,
                             row.created_at)
        if row.execution_span_id is None:
            return stored, None
        return stored, OpenExecution(row.execution_span_id, row.execution_started_at,
                                     row.execution_worker)
    raise AssertionError("unreachable: the second attempt returns or raises")


def end_execution(journal: Journal, run_id: str, span_id: str) -> None:
    """The execution ``span_id`` ended (unless another one replaced it meanwhile)."""
    with journal.begin() as conn:
        conn.execute(update(traces).where(
            and_(traces.c.run_id == run_id, traces.c.execution_span_id == span_id)
        ).values(execution_span_id=None, execution_started_at=None, execution_worker=None))


def _values(run_id: str, trace: StoredTrace) -> dict[str, object]:
    return {"run_id": run_id, "trace_id": trace.trace_id, "span_id": trace.span_id,
            "parent_span_id": trace.parent_span_id, "trace_flags": trace.trace_flags,
            "created_at": trace.created_at}

