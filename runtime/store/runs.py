"""Store operations on run rows: create, read, list, and every change of a run's state.

Each function is one transaction (or, for the ``*_write`` ones, one write of a group commit).
The writes of a lease holder are fenced by its epoch (:func:`~.schema.held`): they match nothing
once the run was taken over or cancelled, and say so by returning False.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from durablec.errors import RunNotFoundError, UsageError
from durablec.runtime.model import TERMINAL, ExecutionInfo, RunRecord, RunRows
from durablec.runtime.store.batch import Batch
from durablec.runtime.store.database import Journal, fenced_insert, now
from durablec.runtime.store.logs import insert_logs, send_logs
from durablec.runtime.store.payloads import (
    drop_run_result,
    ids_apart,
    insert_copy,
    keep_run_result,
    over,
    results_apart,
    run_result,
    send_run_result,
    split_rows,
)
from durablec.runtime.store.schema import (
    RUN_RESULT,
    events,
    executions,
    held,
    payloads,
    runs,
    steps,
)

if TYPE_CHECKING:
    from durablec.runtime.views import RunCount, StatusCount

__all__ = [
    "RELEASED", "cancel", "find_run", "finish_write", "get_run", "insert_run", "insert_run_rows",
    "insert_run_write", "list_runs", "missing", "record", "reset_for_retry", "run_counts",
    "run_rows", "stored_result", "suspend", "update_held", "wake", "wake_in",
]

RELEASED: Final[Mapping[str, None]] = MappingProxyType(
    {"lease_owner": None, "lease_host": None, "lease_pid": None, "lease_expires_at": None})
"""A run's lease columns when nobody holds it."""


def record(row: Any) -> RunRecord:
    """The record of a ``durablec_runs`` row read with all its columns."""
    return RunRecord(**row._mapping)  # Row._mapping: SQLAlchemy's public name-to-value view


def get_run(journal: Journal, run_id: str) -> RunRecord:
    """The run ``run_id``; RunNotFoundError when the journal has no such run."""
    found = find_run(journal, run_id)
    if found is None:
        raise missing(journal, run_id)
    return found


def stored_result(journal: Journal, run: RunRecord) -> bytes | None:
    """The run's result (or recorded exception): in its row, or stored apart when large (the
    row read without it, as listings read it)."""
    if run.result is not None:
        return run.result
    with journal.begin() as conn:
        return run_result(conn, run.id)


def missing(journal: Journal, run_id: str) -> RunNotFoundError:
    """The error for a run id the journal does not have."""
    return RunNotFoundError(f"no run {run_id!r} in the journal at {journal.url}")


def find_run(
    journal: Journal, run_id: str | None = None, *, task_id: str | None = None,
    idempotency_key: str | None = None,
) -> RunRecord | None:
    """The run with this id, or the run of ``task_id`` started with ``idempotency_key``."""
    where: ColumnElement[bool] = (
        runs.c.id == run_id if idempotency_key is None
        else and_(runs.c.task_id == task_id, runs.c.idempotency_key == idempotency_key)
    )
    with journal.begin() as conn:
        row = conn.execute(select(runs).where(where)).one_or_none()
    return None if row is None else record(row)


def insert_run(journal: Journal, values: dict[str, Any]) -> bool:
    """Insert a new run's row; False when its id, or its task's idempotency key, is taken."""
    try:
        with journal.begin() as conn:
            conn.execute(insert(runs).values(values))
        return True
    except IntegrityError:
        # Only a taken id or key means "exists"; any other constraint is a bug to report.
        if find_run(journal, values["id"], task_id=values["task_id"],
                    idempotency_key=values.get("idempotency_key")) is None:
            raise
        return False


def insert_run_write(
    journal: Journal, values: dict[str, Any]
) -> Callable[[Batch], Callable[[], None]]:
    """A new run's insert as a write for the group commit (prepared once per column set)."""
    statement = journal.prepare(("insert_run", *values), lambda: insert(runs).values(
        {name: bindparam(name, type_=runs.c[name].type) for name in values}))

    def write(batch: Batch) -> Callable[[], None]:
        statement.send(batch, values)
        return _nothing
    return write


def _nothing() -> None:
    """The result of a write that has none to read."""


def finish_write(
    journal: Journal, run_id: str, epoch: int, values: dict[str, Any], ended: ExecutionInfo,
    log_rows: list[dict[str, Any]],
) -> Callable[[Batch], Callable[[], bool]]:
    """A lease holder's last update of its run as a write for the group commit, so that it
    shares the transaction of the run's last steps, with the record of the execution ``ended``
    and the task's last log rows; the write returns False (and records nothing) when the lease
    was lost. A result over the journal's threshold is stored apart, like a step's.

    The record, the log rows and a result stored apart carry the update's fence rather than
    waiting for its row count (a batch may send everything before any answer): they are written
    exactly when the update is, since the epoch only grows and the update's row lock holds it
    until the commit."""
    values = {**values, "updated_at": now()}
    apart = values.get("result")
    if over(apart, journal.lazy_over):
        values["result"] = None
    else:
        apart = None
    statement = journal.prepare(("finish", *values), lambda: update(runs).where(
        held(bindparam("fence_run"), bindparam("fence_epoch"))).values(
        {name: bindparam(name, type_=runs.c[name].type) for name in values}))
    fence = {"fence_run": run_id, "fence_epoch": epoch}
    values.update(fence)
    record_ended = journal.prepare(
        ("execution",), lambda: fenced_insert(executions, _EXECUTION_COLUMNS))
    execution = {**_execution_values(run_id, ended), **fence}

    def write(batch: Batch) -> Callable[[], bool]:
        sent = statement.send(batch, values)
        if apart is not None:
            send_run_result(journal, batch, run_id, apart, fence)
        record_ended.send(batch, execution)
        send_logs(journal, batch, log_rows, fence)
        return lambda: sent.rowcount == 1
    return write


def update_held(journal: Journal, run_id: str, epoch: int, values: dict[str, Any],
                ended: ExecutionInfo | None = None,
                log_rows: list[dict[str, Any]] | None = None) -> bool:
    """A lease holder's update of its run (with the record of the execution ``ended``, if it
    ends one, and the task's log rows); False when the lease was lost."""
    with journal.begin() as conn:
        written = conn.execute(
            update(runs).where(held(run_id, epoch)).values(**values, updated_at=now())
        ).rowcount == 1
        if written and ended is not None:
            conn.execute(insert(executions).values(_execution_values(run_id, ended)))
        if written and log_rows:
            insert_logs(conn, log_rows)
        return written


def suspend(
    journal: Journal, run_id: str, epoch: int, *, status: str, wake_at: float | None,
    waiting_for: str | None, error_message: str | None, ended: ExecutionInfo,
    log_rows: list[dict[str, Any]],
) -> None:
    """Park a run (sleeping, waiting, paused) and give up its lease, recording the execution
    ``ended`` and the task's last log rows. A run that waits for an event or a child run that has already arrived is made
    pending again at once."""
    with journal.begin() as conn:
        written = conn.execute(
            update(runs).where(held(run_id, epoch)).values(
                status=status, wake_at=wake_at, waiting_for=waiting_for,
                error_message=error_message, updated_at=now(), **RELEASED,
            )
        ).rowcount
        if written:
            conn.execute(insert(executions).values(_execution_values(run_id, ended)))
            insert_logs(conn, log_rows)
        # What we wait for may have arrived while we were deciding to wait.
        if written and status == "waiting" and waiting_for is not None:
            if _arrived(conn, run_id, waiting_for):
                wake_in(conn, run_id, waiting_for)


_EXECUTION_COLUMNS: Final = ("run_id", *ExecutionInfo.__slots__)


def _execution_values(run_id: str, ended: ExecutionInfo) -> dict[str, Any]:
    # Field by field, not dataclasses.asdict (a recursive deep copy): one per run.
    values = {name: getattr(ended, name) for name in _EXECUTION_COLUMNS[1:]}
    values["run_id"] = run_id
    return values


def wake(journal: Journal, run_id: str, waiting_for: str) -> None:
    """Make the run pending if it waits for ``waiting_for`` (an event name, or ``run:ID``)."""
    with journal.begin() as conn:
        wake_in(conn, run_id, waiting_for)


def wake_in(conn: Connection, run_id: str, waiting_for: str) -> None:
    """:func:`wake`, in the caller's transaction."""
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == "waiting", runs.c.waiting_for == waiting_for)
        .values(status="pending", wake_at=None, updated_at=now())
    )


def _arrived(conn: Connection, run_id: str, waiting_for: str) -> bool:
    if waiting_for.startswith("run:"):
        child = conn.execute(
            select(runs.c.status).where(runs.c.id == waiting_for[4:])
        ).scalar_one_or_none()
        return child is None or child in TERMINAL
    found = conn.execute(
        select(exists().where(
            events.c.run_id == run_id, events.c.name == waiting_for,
            events.c.consumed_key.is_(None),
        ))
    ).scalar()
    return bool(found)


def reset_for_retry(journal: Journal, run_id: str) -> None:
    """Make a finished or paused run pending for one more attempt: its failed steps are no
    longer final, so they run again, and everything that completed is replayed."""
    with journal.begin() as conn:
        conn.execute(
            update(steps)
            # A failed body row stays final: it ends the body's budget of attempts, and the
            # resume restarts the body from its last checkpoint with a new one.
            .where(steps.c.run_id == run_id, steps.c.outcome == "error", steps.c.final,
                   steps.c.kind != "body")
            .values(final=False)
        )
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            # Out of its dead-letter queue too: a redriven run listed by `runs --dead-letter`
            # (or redriven again) would be retried twice.
            .values(status="pending", attempt=runs.c.attempt + 1, result=None,
                    error_type=None, error_message=None, finished_at=None, wake_at=None,
                    dead_letter=None, updated_at=now())
        )
        drop_run_result(conn, run_id)


Recode = Callable[[bytes, str, str], bytes]
"""Re-encodes a payload from one context (``run/key``) to another: a signed payload's MAC
covers its run id. The store does not unpickle."""


def fork_run(journal: Journal, run_id: str, key: str, new_id: str, recode: Recode) -> RunRecord:
    """A new pending run ``new_id`` of the same task and arguments whose journal holds the step
    attempts ``run_id`` recorded before the first attempt of step ``key`` (and the events those
    steps took), so that it replays them and runs from ``key`` live. UsageError when the run has
    no step ``key``."""
    at = now()
    with journal.begin() as conn:
        row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            raise missing(journal, run_id)
        attempts = conn.execute(
            select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id)).all()
        cut = next((i for i, step in enumerate(attempts) if step.key == key), None)
        if cut is None:
            raise UsageError(f"run {run_id} has no step {key!r}; `durablec inspect {run_id}` "
                             "shows its step keys")
        old = record(row)
        conn.execute(insert(runs).values(
            id=new_id, task_id=old.task_id, status="pending", created_at=at, updated_at=at,
            args=None if old.args is None else recode(old.args, f"{run_id}/args",
                                                      f"{new_id}/args"),
            args_repr=old.args_repr, module_hash=old.module_hash, attempt=1, lease_epoch=0,
            queue=old.queue, concurrency_key=old.concurrency_key,
        ))
        new_ids: dict[int, int] = {}
        # Results stored apart are copied too (recoded: a signed one's MAC covers the run id),
        # read one at a time so that a fork of large results holds one of them at once.
        apart = ids_apart(conn, run_id)
        for step in attempts[:cut]:
            values = dict(step._mapping)
            old_id = values.pop("id")
            values["run_id"] = new_id
            values["retry_of"] = new_ids.get(values["retry_of"]) if values["retry_of"] else None
            k = values["key"]
            if values["args"] is not None:
                values["args"] = recode(values["args"], f"{run_id}/{k}/args", f"{new_id}/{k}/args")
            if old_id in apart:
                values["result"] = journal.load_result(conn, old_id)
            if values["result"] is not None:
                values["result"] = recode(values["result"], f"{run_id}/{k}", f"{new_id}/{k}")
            new_ids[old_id] = insert_copy(journal, conn, values)
        kept = {step.key for step in attempts[:cut]}
        for event in conn.execute(select(events).where(events.c.run_id == run_id)).all():
            if event.consumed_key in kept:
                values = dict(event._mapping)
                values.pop("id")
                values["run_id"] = new_id
                if values["payload"] is not None:
                    values["payload"] = recode(values["payload"], f"{run_id}/event/{event.name}",
                                               f"{new_id}/event/{event.name}")
                conn.execute(insert(events).values(values))
        created = conn.execute(select(runs).where(runs.c.id == new_id)).one()
    return record(created)


def run_rows(journal: Journal, run_id: str) -> RunRows:
    """The run's row, its step attempts and its events as stored, in recording order."""
    with journal.begin() as conn:
        run = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if run is None:
            raise missing(journal, run_id)
        attempts = conn.execute(select(steps).where(steps.c.run_id == run_id).order_by(steps.c.id))
        # An export holds every result in its row, wherever the journal stores it.
        apart = results_apart(conn, run_id)
        sent = conn.execute(select(events).where(events.c.run_id == run_id).order_by(events.c.id))
        # Row._mapping is SQLAlchemy's public mapping view of a row.
        return RunRows({**run._mapping, "result": apart.get(RUN_RESULT, run.result)},
                       [{**row._mapping, "result": apart.get(row.id, row.result)}
                        for row in attempts],
                       [dict(row._mapping) for row in sent])


def insert_run_rows(journal: Journal, rows: RunRows) -> None:
    """Write a run's rows as :func:`run_rows` read them (an exported history) into a journal
    without that run, in one transaction. Rows may lack newer columns (their defaults apply);
    columns the tables do not have are left out. Results over the journal's threshold are
    stored apart, as the run's own execution would have stored them."""
    with journal.begin() as conn:
        run = _known(runs, rows.run)
        result: bytes | None = run.get("result")
        if over(result, journal.lazy_over):
            conn.execute(insert(runs).values({**run, "result": None}))
            keep_run_result(conn, run["id"], result)
        else:
            conn.execute(insert(runs).values(run))
        kept, apart = split_rows([_known(steps, row) for row in rows.steps], journal.lazy_over)
        if kept:
            conn.execute(insert(steps), kept)
        if apart:
            conn.execute(insert(payloads), apart)
        if rows.events:
            conn.execute(insert(events), [_known(events, row) for row in rows.events])


def _known(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name in table.c}


def cancel(journal: Journal, run_id: str) -> None:
    """End the run as cancelled; bumping the epoch fences out its executor, which stops."""
    at = now()
    with journal.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(status="cancelled", lease_epoch=runs.c.lease_epoch + 1, lease_owner=None,
                    lease_expires_at=None, finished_at=at, updated_at=at)
        )


def ids_starting(journal: Journal, prefix: str, limit: int = 10) -> list[str]:
    """The run ids that are ``prefix`` or start with it: ``[prefix]`` alone when a run has
    exactly that id, else at most ``limit`` ids, in order."""
    with journal.begin() as conn:
        if conn.execute(select(runs.c.id).where(runs.c.id == prefix)).first() is not None:
            return [prefix]
        found = conn.execute(
            select(runs.c.id).where(runs.c.id.startswith(prefix, autoescape=True))
            .order_by(runs.c.id).limit(limit)).scalars().all()
    return list(found)


def status_counts(journal: Journal) -> list[StatusCount]:
    """How many runs each task has in each status, per queue, by task, queue and status."""
    query = (select(runs.c.task_id, runs.c.queue, runs.c.status, func.count())
             .group_by(runs.c.task_id, runs.c.queue, runs.c.status)
             .order_by(runs.c.task_id, runs.c.queue, runs.c.status))
    with journal.begin() as conn:
        from durablec.runtime.views import StatusCount

        return [StatusCount(*row) for row in conn.execute(query)]


def list_runs(
    journal: Journal, *, status: str | None = None, task_id: str | None = None, limit: int = 100,
    queue: str | None = None, dead_letter: str | None = None, since: float | None = None,
) -> list[RunRecord]:
    """Runs, newest first, optionally of one status, task, queue and dead-letter queue, and
    created at or after ``since``."""
    query = select(runs).order_by(runs.c.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(runs.c.status == status)
    if task_id is not None:
        query = query.where(runs.c.task_id == task_id)
    if queue is not None:
        query = query.where(runs.c.queue == queue)
    if dead_letter is not None:
        query = query.where(runs.c.dead_letter == dead_letter)
    if since is not None:
        query = query.where(runs.c.created_at >= since)
    with journal.begin() as conn:
        return [record(row) for row in conn.execute(query)]


def run_counts(journal: Journal) -> list[RunCount]:
    """Runs per task, queue and status; ``due`` counts those a worker could claim now (pending,
    or sleeping, retrying and waiting past their ``wake_at``, as ``claim_due`` takes them): the
    queue depth."""
    due = or_(runs.c.status == "pending",
              and_(runs.c.status.in_(("sleeping", "retrying", "waiting")),
                   runs.c.wake_at <= now()))
    query = (
        select(runs.c.task_id, runs.c.queue, runs.c.status, func.count(),
               func.count().filter(due))
        .group_by(runs.c.task_id, runs.c.queue, runs.c.status)
    )
    with journal.begin() as conn:
        from durablec.runtime.views import RunCount

        return [RunCount(*row) for row in conn.execute(query)]
