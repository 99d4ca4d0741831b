"""Executing a run: take its lease, load its journal once, run the task from the top, settle."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from durablec.errors import DurablecError, RunNotFoundError, UsageError
from durablec.runtime.abi import active_scope
from durablec.runtime.engine import RunContext, RunScope, Suspend
from durablec.runtime.heartbeat import heartbeat_for
from durablec.runtime.journal import TERMINAL, Journal, events, held, now, runs
from durablec.runtime.lease import LEASE_SECONDS, Owner, acquire, release_values
from durablec.runtime.serde import Codec, preview
from durablec.runtime.task import Task

__all__ = ["Outcome", "create_run", "execute", "journal_for", "new_run_id"]

_JOURNALS: dict[str, Journal] = {}


def journal_for(db: str | None) -> Journal:
    """One Journal (engine) per database URL per process."""
    from durablec.runtime.journal import database_url

    url = database_url(db)
    journal = _JOURNALS.get(url)
    if journal is None:
        journal = _JOURNALS[url] = Journal(url)
    return journal


def new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one execution of a run ended (or how the run had already ended)."""

    run_id: str
    status: str
    result: Any = None
    error: BaseException | None = None
    message: str | None = None
    wake_at: float | None = None


def create_run(
    journal: Journal,
    task: Task[Any, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    run_id: str | None = None,
    idempotency_key: str | None = None,
    parent_run_id: str | None = None,
    concurrency_key: str | None = None,
    holder: Owner | None = None,
) -> tuple[str, bool]:
    """Insert a pending run unless one with this id (or task and idempotency key) exists.

    ``concurrency_key`` overrides the key the task computes from the arguments. A ``holder``
    that is about to execute the run itself inserts it leased to itself, so that no worker
    claims it first. Returns the run id and whether it was created.
    """
    run_id = run_id or new_run_id()
    if concurrency_key is None:
        concurrency_key = task.concurrency_key(args, kwargs)
    codec = Codec.from_env()
    try:
        args_blob: bytes | None = codec.dumps((args, kwargs), f"{run_id}/args")
        args_repr = preview((args, kwargs), 2000)
    except Exception as exc:
        raise UsageError(
            f"the arguments of a run of task {task.id!r} cannot be serialized ({exc}); a run's "
            "arguments are journaled so any worker can start it: pass serializable values"
        ) from exc
    at = now()
    lease: dict[str, Any] = {} if holder is None else {
        "status": "running", "lease_owner": holder.id, "lease_host": holder.host,
        "lease_pid": holder.pid, "lease_expires_at": at + LEASE_SECONDS,
    }
    try:
        with journal.begin() as conn:
            conn.execute(
                insert(runs).values(
                    id=run_id, task_id=task.id, status="pending", args=args_blob,
                    args_repr=args_repr, idempotency_key=idempotency_key,
                    parent_run_id=parent_run_id, module_hash=task.module_hash, attempt=1,
                    lease_epoch=0, created_at=at, updated_at=at,
                    queue=task.queue.name if task.queue else None, concurrency_key=concurrency_key,
                ).values(**lease)
            )
        return run_id, True
    except IntegrityError:
        with journal.begin() as conn:
            query = select(runs.c.id, runs.c.task_id)
            if idempotency_key is not None:
                query = query.where(
                    and_(runs.c.task_id == task.id, runs.c.idempotency_key == idempotency_key)
                )
            else:
                query = query.where(runs.c.id == run_id)
            row = conn.execute(query).one_or_none()
        if row is None:
            raise
        if row.task_id != task.id:
            raise UsageError(
                f"run {row.id} belongs to task {row.task_id!r}, not {task.id!r}; pick another run id"
            ) from None
        return row.id, False


_ARGS_MISMATCH: Final = os.environ.get("DURABLEC_ARGS_MISMATCH", "error")
_INLINE_SLEEP: Final = float(os.environ.get("DURABLEC_INLINE_SLEEP", "1"))


async def execute(
    journal: Journal,
    run_id: str,
    lookup: Any,
    *,
    wait: bool = True,
    owner: Owner | None = None,
    check_only: bool = False,
    claimed: tuple[Any, int] | None = None,
) -> Outcome | None:
    """Execute (or resume by replay) run ``run_id``; None when another executor holds it.

    ``lookup`` maps a task id to its Task. With ``check_only`` nothing is executed or written:
    the recorded history is replayed and the run stops at its first live step. ``claimed`` is
    the (run row, epoch) of a lease a worker's claim already took for ``owner``.
    """
    owner = owner or Owner.here()
    codec = Codec.from_env()
    if check_only:
        with journal.begin() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r} in the journal at {journal.url}")
        epoch = row.lease_epoch
    elif claimed is not None:
        row, epoch = claimed
    else:
        got = await asyncio.to_thread(acquire, journal, run_id, owner, wait=wait)
        if got is None:
            return None
        row, epoch = got
        if epoch < 0:
            return outcome_of(row, codec)
    task: Task[Any, Any] = lookup(row.task_id)
    task.check_compiled()
    with journal.engine.connect() as conn:
        context = RunContext(
            journal, None if check_only else conn, codec, run_id, epoch,
            on_args_mismatch="warn" if _ARGS_MISMATCH == "warn" else "error",
            inline_sleep=_INLINE_SLEEP, check_only=check_only,
        )
        context.load_journal(journal.load_steps(conn, run_id))
        conn.commit()
        args, kwargs = codec.loads(row.args, f"{run_id}/args") if row.args else ((), {})
        root = RunScope(context, "", task.__durablec_policy__)
        beat = None if check_only else heartbeat_for(journal)
        if beat is not None:
            beat.hold(context, owner.id)
        try:
            return await _settle(journal, context, task, row, root, args, kwargs)
        finally:
            if beat is not None:
                beat.drop(context)


async def _body(root: RunScope, task: Task[Any, Any], args: Any, kwargs: Any) -> Any:
    token = active_scope.set(root)
    try:
        return await task.fn(*args, **kwargs)
    finally:
        active_scope.reset(token)


async def _settle(
    journal: Journal, context: RunContext, task: Task[Any, Any], row: Any, root: RunScope,
    args: tuple[Any, ...], kwargs: dict[str, Any],
) -> Outcome:
    run_id = context.run_id
    try:
        result = await _body(root, task, args, kwargs)
        error: BaseException | None = None
    except Suspend as suspend:
        if context.check_only or context.fatal is not None:
            error = None
        else:
            return _suspend(journal, context, suspend)
    except asyncio.CancelledError:
        stopped = context.suspend
        if stopped is not None and stopped.status == "running":
            # The heartbeat found the lease lost and cancelled this task (heartbeat.py).
            current = asyncio.current_task()
            if current is not None and current.uncancel() == 0:
                return Outcome(run_id, "running", message=stopped.reason)
        if not context.check_only:
            _write_run(journal, context, status="pending", **release_values())
        raise
    except Exception as exc:
        error = exc
    if context.check_only:
        return Outcome(run_id, "checked", error=context.fatal)
    if context.fatal is not None:
        fatal = context.fatal
        _write_run(
            journal, context, status="paused", error_type=type(fatal).__name__,
            error_message=str(fatal), **release_values(),
        )
        return Outcome(run_id, "paused", error=fatal, message=str(fatal))
    if error is None:
        try:
            payload = context.codec.dumps(result, f"{run_id}/result")
        except Exception as exc:  # noqa: BLE001 - reported as a paused run with the reason
            message = (
                f"task {task.id!r} returned a {type(result).__qualname__} that cannot be journaled "
                f"({exc}); return a serializable value, then resume run {run_id}"
            )
            _write_run(journal, context, status="paused", error_type="SerializationError",
                       error_message=message, **release_values())
            return Outcome(run_id, "paused", message=message)
        at = now()
        if not _write_run(
            journal, context, status="completed", result=payload, result_repr=preview(result),
            error_type=None, error_message=None, finished_at=at, wake_at=None, waiting_for=None,
            **release_values(),
        ):
            return _lost(journal, context)
        _wake_parent(journal, row.parent_run_id, run_id)
        return Outcome(run_id, "completed", result=result)
    from durablec.runtime.engine import _dump_exception

    status = "failed"
    if task.retry.kind == "manual":
        status = "paused"
    elif task.dead_letter is not None:
        status = "dead_lettered"
    if not _write_run(
        journal, context, status=status, result=_dump_exception(context, "result", error),
        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
        error_message=str(error), dead_letter=task.dead_letter if status == "dead_lettered" else None,
        finished_at=None if status == "paused" else now(), **release_values(),
    ):
        return _lost(journal, context)
    if status != "paused":
        _wake_parent(journal, row.parent_run_id, run_id)
    return Outcome(run_id, status, error=error, message=f"{type(error).__name__}: {error}")


def _suspend(journal: Journal, context: RunContext, suspend: Suspend) -> Outcome:
    run_id = context.run_id
    if suspend.status == "running":
        # The lease was lost: the new holder owns the row now.
        return Outcome(run_id, "running", message=suspend.reason)
    with journal.begin() as conn:
        written = conn.execute(
            update(runs)
            .where(held(run_id, context.epoch))
            .values(
                status=suspend.status, wake_at=suspend.wake_at, waiting_for=suspend.waiting_for,
                error_message=suspend.reason if suspend.status == "paused" else None,
                updated_at=now(), **release_values(),
            )
        ).rowcount
        if written and suspend.status == "waiting" and suspend.waiting_for is not None:
            # What we wait for may have arrived while we were deciding to wait.
            if _arrived(conn, run_id, suspend.waiting_for):
                conn.execute(
                    update(runs).where(runs.c.id == run_id).values(status="pending", wake_at=None)
                )
    return Outcome(run_id, suspend.status, message=suspend.reason, wake_at=suspend.wake_at)


def _arrived(conn: Any, run_id: str, waiting_for: str) -> bool:
    if waiting_for.startswith("run:"):
        child = conn.execute(
            select(runs.c.status).where(runs.c.id == waiting_for[4:])
        ).scalar_one_or_none()
        return child is None or child in TERMINAL
    found = conn.execute(
        select(
            exists().where(
                and_(events.c.run_id == run_id, events.c.name == waiting_for,
                     events.c.consumed_key.is_(None))
            )
        )
    ).scalar()
    return bool(found)


def _wake_parent(journal: Journal, parent_run_id: str | None, run_id: str) -> None:
    if parent_run_id is None:
        return
    with journal.begin() as conn:
        conn.execute(
            update(runs)
            .where(
                and_(runs.c.id == parent_run_id, runs.c.status == "waiting",
                     runs.c.waiting_for == f"run:{run_id}")
            )
            .values(status="pending", wake_at=None, updated_at=now())
        )


def _write_run(journal: Journal, context: RunContext, **values: Any) -> bool:
    values["updated_at"] = now()
    with journal.begin() as conn:
        return (
            conn.execute(
                update(runs)
                .where(held(context.run_id, context.epoch))
                .values(**values)
            ).rowcount
            == 1
        )


def _lost(journal: Journal, context: RunContext) -> Outcome:
    with journal.begin() as conn:
        row = conn.execute(select(runs).where(runs.c.id == context.run_id)).one()
    if row.status in TERMINAL:
        return outcome_of(row, context.codec)
    return Outcome(context.run_id, "running", message="lease lost to another executor")


def outcome_of(row: Any, codec: Codec) -> Outcome:
    """The outcome a finished (or stopped) run row describes."""
    if row.status == "completed":
        return Outcome(row.id, "completed", result=codec.loads(row.result, f"{row.id}/result")
                       if row.result is not None else None)
    error: BaseException | None = None
    if row.result is not None and row.status in ("failed", "dead_lettered", "paused"):
        try:
            loaded = codec.loads(row.result, f"{row.id}/result")
            error = loaded if isinstance(loaded, BaseException) else None
        except DurablecError:
            raise
        except Exception:  # noqa: BLE001 - the message columns still describe the failure
            error = None
    message = f"{row.error_type}: {row.error_message}" if row.error_type else None
    if row.status == "cancelled":
        message = "the run was cancelled"
    return Outcome(row.id, row.status, error=error, message=message, wake_at=row.wake_at)
