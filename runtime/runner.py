"""Executing a run: take its lease, load its journal once, run the task from the top, settle."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from durablec.errors import (
    DurablecError,
    NonDeterminismError,
    PayloadTooLargeError,
    SerializationError,
    TamperedPayloadError,
    UsageError,
)
from durablec.runtime import store
from durablec.runtime.context import RunContext
from durablec.runtime.control import Suspend
from durablec.runtime.creation import misfit, new_run, new_run_id
from durablec.runtime.engine import RunScope
from durablec.runtime.failures import dump_exception
from durablec.runtime.heartbeat import heartbeat_for
from durablec.runtime.journal import logged_counts
from durablec.runtime.lease import Owner, acquire, release_values
from durablec.runtime.logs import capture as capture_logs
from durablec.runtime.model import TERMINAL, ExecutionInfo, RunRecord
from durablec.runtime.observer import observer
from durablec.runtime.retrying import run_body
from durablec.runtime.spawn import install_task_factory
from durablec.runtime.serde import Codec, preview
from durablec.runtime.store import Journal, now
from durablec.runtime.task import Task

__all__ = ["Outcome", "execute", "journal_for", "outcome_of", "start"]

_JOURNALS: dict[str, Journal] = {}


def journal_for(db: str | None, *, create: bool = True) -> Journal:
    """One Journal (engine) per database URL per process; ``create=False`` refuses a journal
    that does not exist yet (JournalError) instead of creating it."""
    url = store.database_url(db)
    journal = _JOURNALS.get(url)
    if journal is None:
        journal = _JOURNALS[url] = Journal(url, create=create)
    return journal


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one execution of a run ended (or how the run had already ended)."""

    run_id: str
    status: str
    result: Any = None
    error: BaseException | None = None
    message: str | None = None
    wake_at: float | None = None


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
    claimed: tuple[RunRecord, int] | None = None,
) -> Outcome | None:
    """Execute (or resume by replay) run ``run_id``; None when another executor holds it.

    ``lookup`` maps a task id to its Task. With ``check_only`` nothing is executed or written:
    the recorded history is replayed and the run stops at its first live step. ``claimed`` is
    the (run row, epoch) of a lease a worker's claim already took for ``owner``.
    """
    with journal.failures(run_id):
        return await _resume(journal, run_id, lookup, wait=wait, owner=owner,
                             check_only=check_only, claimed=claimed)


async def _resume(
    journal: Journal, run_id: str, lookup: Any, *, wait: bool, owner: Owner | None,
    check_only: bool, claimed: tuple[RunRecord, int] | None,
) -> Outcome | None:
    owner = owner or Owner.here()
    codec = Codec.from_env()
    if check_only:
        row = store.get_run(journal, run_id)
        epoch = row.lease_epoch
    elif claimed is not None:
        row, epoch = claimed
    else:
        got = await asyncio.to_thread(acquire, journal, run_id, owner, wait=wait)
        if got is None:
            return None
        row, epoch = got
        if epoch < 0:
            return outcome_of(row, codec, journal)
    task: Task[Any, Any] = lookup(row.task_id)
    task.check_compiled()
    return await _execute(journal, codec, row, epoch, owner, task, True, check_only)


async def start(
    journal: Journal, task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Outcome:
    """Create a run already leased to this process and execute it.

    A new run has no holder to wait for and no journal to load, so instead of an insert, a lease
    transaction and a load it costs one insert, made in the same group commit as the steps of
    the other runs of this event loop.
    """
    task.check_compiled()
    problem = misfit(task, args, kwargs)
    if problem is not None:
        raise UsageError(problem)
    owner = Owner.here()
    codec = Codec.from_env()
    run_id = new_run_id()
    values = new_run(task, run_id, args, kwargs, codec, holder=owner)
    values["lease_epoch"] = 1  # the first lease, which execute() would otherwise take
    row = RunRecord(**values)
    with journal.failures(run_id):
        with journal.writing() as writer:
            await writer.write(store.insert_run_write(journal, values))
        return await _execute(journal, codec, row, row.lease_epoch, owner, task, False, False)


async def _execute(
    journal: Journal, codec: Codec, row: RunRecord, epoch: int, owner: Owner, task: Task[Any, Any],
    has_history: bool, check_only: bool,
) -> Outcome:
    run_id = row.id
    started_at = now()
    capture_logs()
    with journal.writing() as writer:
        context = RunContext(
            journal, None if check_only else writer, codec, run_id, epoch,
            on_args_mismatch="warn" if _ARGS_MISMATCH == "warn" else "error",
            inline_sleep=_INLINE_SLEEP, check_only=check_only, observer=observer(),
        )
        if has_history:
            # Loaded here so the rows are garbage once indexed, not held for the whole run.
            with journal.begin() as conn, _no_collection():
                context.load_journal(journal.load_steps(conn, run_id))
                context.logged = logged_counts(conn, run_id)
        began = Began(owner.id, bool(context.records or context.attempts), started_at)
        try:
            args, kwargs = codec.loads(row.args, f"{run_id}/args") if row.args else ((), {})
        except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways; all stop the run
            return _unloadable_args(journal, context, began, exc)
        root = RunScope(context, "", task.__durablec_policy__)
        install_task_factory(asyncio.get_running_loop())
        beat = None if check_only else heartbeat_for(journal)
        if beat is not None:
            beat.hold(context, owner.id)
        watcher = context.observer
        if watcher is not None:
            watcher.run_opened(journal, run_id)
            watcher.run_started(run_id, task.id, began.resumed)
        try:
            outcome = await _settle(journal, context, began, task, row, root, args, kwargs)
        finally:
            if beat is not None:
                beat.drop(context)
        if watcher is not None:
            watcher.run_ended(run_id, outcome.status, context.replayed, context.live_steps)
        return outcome


def _unloadable_args(
    journal: Journal, context: RunContext, began: Began, exc: Exception
) -> Outcome:
    """Pause a run whose recorded arguments cannot be loaded; nothing of it runs."""
    run_id = context.run_id
    error: DurablecError
    if isinstance(exc, TamperedPayloadError):
        error = TamperedPayloadError(
            f"run {run_id}, its arguments: {exc}; then `durablec retry {run_id}`. Nothing of the "
            "run was executed"
        )
    else:
        error = NonDeterminismError(
            f"run {run_id}: its recorded arguments cannot be loaded ({type(exc).__name__}: "
            f"{exc}); a class or module they need was renamed or removed since the run started. "
            f"Restore it (or run the code the run started with), then `durablec retry {run_id}`"
        )
    if context.check_only:
        return Outcome(run_id, "checked", error=error)
    _write_run(journal, context, began.ended(context, "paused", str(error)), status="paused",
               error_type=type(error).__name__, error_message=str(error), **release_values())
    return Outcome(run_id, "paused", error=error, message=str(error))


async def _settle(
    journal: Journal, context: RunContext, began: Began, task: Task[Any, Any], row: RunRecord,
    root: RunScope, args: tuple[Any, ...], kwargs: dict[str, Any],
) -> Outcome:
    run_id = context.run_id
    try:
        result = await run_body(root, task.fn, args, kwargs)
        error: BaseException | None = None
    except Suspend as suspend:
        if context.check_only or context.fatal is not None:
            error = None
        else:
            return _suspend(journal, context, began, suspend)
    except asyncio.CancelledError:
        stopped = context.suspend
        if stopped is not None and stopped.status == "running":
            # The heartbeat found the lease lost and cancelled this task (heartbeat.py).
            current = asyncio.current_task()
            if current is not None and current.uncancel() == 0:
                return Outcome(run_id, "running", message=stopped.reason)
        if not context.check_only:
            _write_run(journal, context,
                       began.ended(context, "pending", "interrupted: its worker stopped"),
                       status="pending", **release_values())
        raise
    except Exception as exc:
        error = exc
    if context.check_only:
        # The message says where the check stopped early (at a step the journal does not hold).
        stopped = context.suspend if context.fatal is None else None
        return Outcome(run_id, "checked", error=context.fatal,
                       message=None if stopped is None else stopped.reason)
    if context.fatal is not None:
        fatal = context.fatal
        await _finish(
            context, began.ended(context, "paused", str(fatal)), status="paused",
            error_type=type(fatal).__name__, error_message=str(fatal), **release_values(),
        )
        return Outcome(run_id, "paused", error=fatal, message=str(fatal))
    if error is None:
        try:
            payload = context.codec.dumps(result, f"{run_id}/result")
        except Exception as exc:  # noqa: BLE001 - reported as a paused run with the reason
            if isinstance(exc, PayloadTooLargeError):
                problem = (f"is {exc.size} bytes pickled, over the DURABLEC_MAX_PAYLOAD limit of "
                           f"{exc.limit} bytes; return a reference to large data (a path, an "
                           "object key) or raise DURABLEC_MAX_PAYLOAD")
            else:
                problem = f"cannot be journaled ({exc}); return a serializable value"
            code = getattr(task.fn, "__code__", None)
            where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
            message = (
                f"run {run_id}: task {task.id!r}{where} returned a {type(result).__qualname__} "
                f"that {problem}, then `durablec retry {run_id}`"
            )
            await _finish(context, began.ended(context, "paused", message), status="paused",
                          error_type="SerializationError", error_message=message,
                          **release_values())
            # Carried as the error so that `durablec run` reports it like a step's result (exit 1).
            return Outcome(run_id, "paused", error=SerializationError(message), message=message)
        at = now()
        if not await _finish(
            context, began.ended(context, "completed", None), status="completed", result=payload, result_repr=preview(result),
            error_type=None, error_message=None, finished_at=at, wake_at=None, waiting_for=None,
            **release_values(),
        ):
            return _lost(journal, context)
        _wake_parent(journal, row.parent_run_id, run_id)
        return Outcome(run_id, "completed", result=result)
    status = "failed"
    if task.retry.kind == "manual":
        status = "paused"
    elif task.dead_letter is not None:
        status = "dead_lettered"
    if not await _finish(
        context, began.ended(context, status, f"{type(error).__name__}: {error}"),
        status=status, result=dump_exception(context.codec, f"{run_id}/result", error),
        error_type=f"{type(error).__module__}.{type(error).__qualname__}",
        error_message=str(error), dead_letter=task.dead_letter if status == "dead_lettered" else None,
        finished_at=None if status == "paused" else now(), **release_values(),
    ):
        return _lost(journal, context)
    if status != "paused":
        _wake_parent(journal, row.parent_run_id, run_id)
    return Outcome(run_id, status, error=error, message=f"{type(error).__name__}: {error}")


def _suspend(journal: Journal, context: RunContext, began: Began, suspend: Suspend) -> Outcome:
    run_id = context.run_id
    if suspend.status == "running":
        # The lease was lost (the new holder owns the row, and this fenced write matches
        # nothing) or the journal failed a write: then hand the run back, so that any worker,
        # this one included, resumes it as soon as the database accepts writes again. If this
        # write fails too, the lease expires instead.
        try:
            _write_run(journal, context, began.ended(context, "pending", suspend.reason),
                       status="pending", **release_values())
        except store.DatabaseError:
            pass
        return Outcome(run_id, "running", message=suspend.reason)
    store.suspend(
        journal, run_id, context.epoch, status=suspend.status, wake_at=suspend.wake_at,
        waiting_for=suspend.waiting_for,
        error_message=suspend.reason if suspend.status in ("paused", "retrying") else None,
        ended=began.ended(context, suspend.status, suspend.reason, suspend.wake_at,
                          suspend.waiting_for),
        log_rows=context.take_logs(),
    )
    return Outcome(run_id, suspend.status, message=suspend.reason, wake_at=suspend.wake_at)


def _wake_parent(journal: Journal, parent_run_id: str | None, run_id: str) -> None:
    if parent_run_id is not None:
        store.wake(journal, parent_run_id, f"run:{run_id}")


async def _finish(context: RunContext, ended: ExecutionInfo, **values: Any) -> bool:
    """Write the run's final state, and the record of the execution ``ended``, in the group
    commit of its steps; False if the lease was lost."""
    assert context.writer is not None
    try:
        written = await context.writer.write(
            store.finish_write(context.journal, context.run_id, context.epoch, values, ended,
                               context.take_logs())
        )
    except Exception as exc:  # noqa: BLE001 - like an unrecorded step: stop, resume later
        context.suspend_now(Suspend(
            "running", f"run {context.run_id}: the journal could not record how the run ended "
            f"({type(exc).__name__}: {exc}); it stays running and a resume replays it to the end "
            "once the database accepts writes"))
        return False
    return written


def _write_run(
    journal: Journal, context: RunContext, ended: ExecutionInfo, **values: Any
) -> bool:
    return store.update_held(journal, context.run_id, context.epoch, values, ended,
                             context.take_logs())


@dataclass(frozen=True, slots=True)
class Began:
    """How an execution began, kept to record it with the run's last update when it ends."""

    worker: str
    resumed: bool
    started_at: float

    def ended(self, context: RunContext, status: str, reason: str | None,
              wake_at: float | None = None, waiting_for: str | None = None) -> ExecutionInfo:
        return ExecutionInfo(context.epoch, self.worker, self.resumed, self.started_at, now(),
                             status, reason, wake_at, waiting_for, context.replayed,
                             context.live_steps)


def _lost(journal: Journal, context: RunContext) -> Outcome:
    if context.suspend is not None and context.suspend.status == "running":
        return Outcome(context.run_id, "running", message=context.suspend.reason)
    row = store.get_run(journal, context.run_id)
    if row.status in TERMINAL:
        return outcome_of(row, context.codec, journal)
    return Outcome(context.run_id, "running", message="lease lost to another executor")


def outcome_of(row: RunRecord, codec: Codec, journal: Journal) -> Outcome:
    """The outcome a finished (or stopped) run row describes (its result read from ``journal``
    when it is stored apart)."""
    if row.status == "completed":
        payload = store.stored_result(journal, row)
        return Outcome(row.id, "completed", result=codec.loads(payload, f"{row.id}/result")
                       if payload is not None else None)
    error: BaseException | None = None
    payload = (store.stored_result(journal, row)
               if row.status in ("failed", "dead_lettered", "paused") else None)
    if payload is not None:
        try:
            loaded = codec.loads(payload, f"{row.id}/result")
            error = loaded if isinstance(loaded, BaseException) else None
        except DurablecError:
            raise
        except Exception:  # noqa: BLE001 - the message columns still describe the failure
            error = None
    message = f"{row.error_type}: {row.error_message}" if row.error_type else None
    if row.status == "cancelled":
        message = "the run was cancelled"
    return Outcome(row.id, row.status, error=error, message=message, wake_at=row.wake_at)


@contextmanager
def _no_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a journal is loaded and indexed: the load makes
    tens of thousands of acyclic objects (a tuple per row, a record per step), and the
    collections they trigger scan every object of the process and free nothing (13 of 68 ms of
    a 10,000-step resume). Only postponed: collection resumes at the end of the block."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
