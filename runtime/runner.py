"""Executing a run: take its lease, load its journal once, run the task from the top, settle."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final

from sqlalchemy import and_, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from durablec.errors import (
    DurablecError,
    NonDeterminismError,
    PayloadTooLargeError,
    RunNotFoundError,
    SerializationError,
    TamperedPayloadError,
    UsageError,
)
from durablec.runtime.context import RunContext
from durablec.runtime.control import Suspend
from durablec.runtime.engine import RunScope
from durablec.runtime.retrying import run_body
from durablec.runtime.spawn import install_task_factory
from durablec.runtime.failures import dump_exception
from durablec.runtime.heartbeat import heartbeat_for
from durablec.runtime.observer import observer
from durablec.runtime.journal import TERMINAL, Journal, events, held, now, runs
from durablec.runtime.lease import Owner, acquire, holding, release_values
from durablec.runtime.serde import Codec, preview
from durablec.runtime.task import Task

__all__ = ["Outcome", "create_run", "execute", "journal_for", "new_run_id", "start"]

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
    claims it first. Arguments that do not fit the task's signature are refused before anything
    is written (resuming an existing run ignores them). Returns the run id and whether it was
    created.
    """
    misfit = _misfit(task, args, kwargs)
    if misfit is not None:
        found = None
        if run_id is not None or idempotency_key is not None:
            found = _existing(journal, task, run_id, idempotency_key)
        if found is None:
            raise UsageError(misfit)
        return found, False
    run_id = run_id or new_run_id()
    values = _new_run(task, run_id, args, kwargs, Codec.from_env(), holder=holder,
                      idempotency_key=idempotency_key, parent_run_id=parent_run_id,
                      concurrency_key=concurrency_key)
    try:
        with journal.begin() as conn:
            conn.execute(insert(runs).values(values))
    except IntegrityError:
        found = _existing(journal, task, run_id, idempotency_key)
        if found is None:
            raise
        return found, False
    watcher = observer()
    if watcher is not None:
        watcher.run_created(journal, run_id, task.id)
    return run_id, True


def _misfit(task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """Why ``args`` and ``kwargs`` cannot be passed to the task's function, or None."""
    signature = task.signature
    if signature is None:
        return None  # a callable without a readable signature is checked when it is called
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        code = getattr(task.fn, "__code__", None)
        where = f" at {code.co_filename}:{code.co_firstlineno}" if code is not None else ""
        given = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        given = given if len(given) <= 200 else given[:199] + "…"
        return (
            f"task {task.id!r} (`{task.fn.__name__}{signature}`{where}) cannot take the "
            f"arguments ({given}): {exc}. Pass arguments that match its "
            "signature (`durablec run/trigger`: --args takes a JSON array of the positional "
            "ones, --kwargs a JSON object of the keyword ones); no run was created"
        )
    return None


def _existing(
    journal: Journal, task: Task[Any, Any], run_id: str | None, idempotency_key: str | None
) -> str | None:
    """The id of the run of ``task`` with this id (or idempotency key), if there is one."""
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
        return None
    if row.task_id != task.id:
        raise UsageError(
            f"run {row.id} belongs to task {row.task_id!r}, not {task.id!r}; pick another run id"
        )
    return str(row.id)


def _dump_run_args(
    codec: Codec, task: Task[Any, Any], run_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bytes, str]:
    try:
        return codec.dumps((args, kwargs), f"{run_id}/args"), preview((args, kwargs), 2000)
    except PayloadTooLargeError as exc:
        raise UsageError(
            f"the arguments of a run of task {task.id!r} are {exc.size} bytes pickled, over the "
            f"DURABLEC_MAX_PAYLOAD limit of {exc.limit} bytes; pass a reference to large data "
            "(a path, an object key), or raise DURABLEC_MAX_PAYLOAD"
        ) from exc
    except Exception as exc:
        raise UsageError(
            f"the arguments of a run of task {task.id!r} cannot be serialized ({exc}); a run's "
            "arguments are journaled so any worker can start it: pass serializable values"
        ) from exc


def _new_run(
    task: Task[Any, Any], run_id: str, args: tuple[Any, ...], kwargs: dict[str, Any],
    codec: Codec, *, holder: Owner | None, idempotency_key: str | None = None,
    parent_run_id: str | None = None, concurrency_key: str | None = None,
) -> dict[str, Any]:
    """The row of a new run (epoch 0): pending, or already leased to ``holder``."""
    args_blob, args_repr = _dump_run_args(codec, task, run_id, args, kwargs)
    at = now()
    values: dict[str, Any] = {
        "id": run_id, "task_id": task.id, "status": "pending", "args": args_blob,
        "args_repr": args_repr, "idempotency_key": idempotency_key,
        "parent_run_id": parent_run_id, "module_hash": task.module_hash, "attempt": 1,
        "lease_epoch": 0, "created_at": at, "updated_at": at,
        "queue": task.queue.name if task.queue else None,
        "concurrency_key": (concurrency_key if concurrency_key is not None
                            else task.concurrency_key(args, kwargs)),
    }
    if holder is not None:
        values.update(holding(holder, at))
    return values


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
    with journal.failures(run_id):
        return await _resume(journal, run_id, lookup, wait=wait, owner=owner,
                             check_only=check_only, claimed=claimed)


async def _resume(
    journal: Journal, run_id: str, lookup: Any, *, wait: bool, owner: Owner | None,
    check_only: bool, claimed: tuple[Any, int] | None,
) -> Outcome | None:
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
    misfit = _misfit(task, args, kwargs)
    if misfit is not None:
        raise UsageError(misfit)
    owner = Owner.here()
    codec = Codec.from_env()
    run_id = new_run_id()
    values = _new_run(task, run_id, args, kwargs, codec, holder=owner)
    values["lease_epoch"] = 1  # the first lease, which execute() would otherwise take
    row = SimpleNamespace(**values)
    insert_run = journal.prepare(("insert_run", *values), lambda: insert(runs).values(
        {name: bindparam(name, type_=runs.c[name].type) for name in values}))
    with journal.failures(run_id):
        with journal.writing() as writer:
            await writer.write(lambda conn: insert_run.execute(conn, values))
        return await _execute(journal, codec, row, row.lease_epoch, owner, task, False, False)


async def _execute(
    journal: Journal, codec: Codec, row: Any, epoch: int, owner: Owner, task: Task[Any, Any],
    has_history: bool, check_only: bool,
) -> Outcome:
    run_id = row.id
    with journal.writing() as writer:
        context = RunContext(
            journal, None if check_only else writer, codec, run_id, epoch,
            on_args_mismatch="warn" if _ARGS_MISMATCH == "warn" else "error",
            inline_sleep=_INLINE_SLEEP, check_only=check_only, observer=observer(),
        )
        if has_history:
            # Loaded here so the rows are garbage once indexed, not held for the whole run.
            with journal.begin() as conn:
                context.load_journal(journal.load_steps(conn, run_id))
        try:
            args, kwargs = codec.loads(row.args, f"{run_id}/args") if row.args else ((), {})
        except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways; all stop the run
            return _unloadable_args(journal, context, exc)
        root = RunScope(context, "", task.__durablec_policy__)
        install_task_factory(asyncio.get_running_loop())
        beat = None if check_only else heartbeat_for(journal)
        if beat is not None:
            beat.hold(context, owner.id)
        watcher = context.observer
        if watcher is not None:
            watcher.run_opened(journal, run_id)
            watcher.run_started(run_id, task.id, bool(context.records or context.attempts))
        try:
            outcome = await _settle(journal, context, task, row, root, args, kwargs)
        finally:
            if beat is not None:
                beat.drop(context)
        if watcher is not None:
            watcher.run_ended(run_id, outcome.status, context.replayed, context.live_steps)
        return outcome


def _unloadable_args(journal: Journal, context: RunContext, exc: Exception) -> Outcome:
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
    _write_run(journal, context, status="paused", error_type=type(error).__name__,
               error_message=str(error), **release_values())
    return Outcome(run_id, "paused", error=error, message=str(error))


async def _body(root: RunScope, task: Task[Any, Any], args: Any, kwargs: Any) -> Any:
    return await run_body(root, task.fn, args, kwargs)


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
        # The message says where the check stopped early (at a step the journal does not hold).
        stopped = context.suspend if context.fatal is None else None
        return Outcome(run_id, "checked", error=context.fatal,
                       message=None if stopped is None else stopped.reason)
    if context.fatal is not None:
        fatal = context.fatal
        await _finish(
            context, status="paused", error_type=type(fatal).__name__,
            error_message=str(fatal), **release_values(),
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
            await _finish(context, status="paused", error_type="SerializationError",
                          error_message=message, **release_values())
            # Carried as the error so that `durablec run` reports it like a step's result (exit 1).
            return Outcome(run_id, "paused", error=SerializationError(message), message=message)
        at = now()
        if not await _finish(
            context, status="completed", result=payload, result_repr=preview(result),
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
        context, status=status, result=dump_exception(context.codec, f"{run_id}/result", error),
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
        # The lease was lost (the new holder owns the row, and this fenced write matches
        # nothing) or the journal failed a write: then hand the run back, so that any worker,
        # this one included, resumes it as soon as the database accepts writes again. If this
        # write fails too, the lease expires instead.
        try:
            _write_run(journal, context, status="pending", **release_values())
        except SQLAlchemyError:
            pass
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


async def _finish(context: RunContext, **values: Any) -> bool:
    """Write the run's final state in the group commit of its steps; False if the lease was lost."""
    values["updated_at"] = now()
    statement = context.journal.prepare(("finish", *values), lambda: update(runs).where(
        held(bindparam("fence_run"), bindparam("fence_epoch"))).values(
        {name: bindparam(name, type_=runs.c[name].type) for name in values}))
    values["fence_run"] = context.run_id
    values["fence_epoch"] = context.epoch
    assert context.writer is not None
    try:
        written: bool = await context.writer.write(
            lambda conn: statement.execute(conn, values).rowcount == 1
        )
    except Exception as exc:  # noqa: BLE001 - like an unrecorded step: stop, resume later
        context.suspend_now(Suspend(
            "running", f"run {context.run_id}: the journal could not record how the run ended "
            f"({type(exc).__name__}: {exc}); it stays running and a resume replays it to the end "
            "once the database accepts writes"))
        return False
    return written


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
    if context.suspend is not None and context.suspend.status == "running":
        return Outcome(context.run_id, "running", message=context.suspend.reason)
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
