"""Creating runs: check the arguments against the task, build the run's row, insert it once
per run id (or per task and idempotency key)."""

from __future__ import annotations

import uuid
from typing import Any

from durablec.errors import PayloadTooLargeError, UsageError
from durablec.runtime import store
from durablec.runtime.observer import observer
from durablec.runtime.lease import Owner, holding
from durablec.runtime.serde import Codec, preview
from durablec.runtime.store import Journal, now
from durablec.runtime.task import Task

__all__ = ["create_run", "misfit", "new_run", "new_run_id"]


def new_run_id() -> str:
    return uuid.uuid4().hex


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
    problem = misfit(task, args, kwargs)
    if problem is not None:
        found = None
        if run_id is not None or idempotency_key is not None:
            found = _existing(journal, task, run_id, idempotency_key)
        if found is None:
            raise UsageError(problem)
        return found, False
    run_id = run_id or new_run_id()
    values = new_run(task, run_id, args, kwargs, Codec.from_env(), holder=holder,
                      idempotency_key=idempotency_key, parent_run_id=parent_run_id,
                      concurrency_key=concurrency_key)
    if store.insert_run(journal, values):
        watcher = observer()
        if watcher is not None:
            watcher.run_created(journal, run_id, task.id)
        return run_id, True
    found = _existing(journal, task, run_id, idempotency_key)
    assert found is not None  # insert_run found the run that took this id or key
    if idempotency_key is not None and run_id != found:
        _same_arguments(journal, found, idempotency_key, args, kwargs)
    return found, False


def _same_arguments(
    journal: Journal, run_id: str, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """Refuse a reused idempotency key whose arguments differ from its run's (Stripe's rule):
    the caller meant another request, and returning the old run would hide it."""
    row = store.get_run(journal, run_id)
    try:
        stored = Codec.from_env().loads(row.args, f"{run_id}/args") if row.args else ((), {})
        same = stored == (args, kwargs)
    except Exception:  # noqa: BLE001 - unreadable here: compare what people see instead
        same = row.args_repr == preview((args, kwargs), 2000)
    if not same:
        raise UsageError(
            f"idempotency key {key!r} was used by run {run_id} with other arguments "
            f"({row.args_repr}); the same key takes the same arguments. Use a new key for a new "
            "request"
        )


def misfit(task: Task[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
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
    row = store.find_run(journal, run_id, task_id=task.id, idempotency_key=idempotency_key)
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


def new_run(
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
