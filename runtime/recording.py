"""Recording a step's outcome: the one row each live attempt writes, and what the task gets."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any, Final, Literal

from durablec.errors import PayloadTooLargeError, SerializationError
from durablec.runtime.abi import Site, site_callee
from durablec.runtime.context import RunContext, place
from durablec.runtime.control import mark_settled
from durablec.runtime.failures import dump_exception, http_details
from durablec.runtime.journal import STEP_COLUMNS, now
from durablec.runtime.resources import is_resource
from durablec.runtime.serde import preview
from durablec.runtime.standins import Recorded, capture, reread

__all__ = ["PLAIN", "dump_args", "record_error", "record_ok", "record_simple"]

_EMPTY_STEP: Final = dict.fromkeys(STEP_COLUMNS)

PLAIN: Final = frozenset({int, str, float, bool, bytes, type(None), list, dict, tuple})
"""Result types that are surely neither resources nor coroutines: skips the slower checks."""


def dump_args(
    run: RunContext, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bytes | None, str | None]:
    if not args and not kwargs:
        return None, None
    try:
        return run.codec.dumps((args, kwargs), f"{run.run_id}/{key}/args"), None
    except Exception:  # noqa: BLE001 - unpicklable arguments are recorded as their repr
        return None, preview((args, kwargs), 2000)

def _row(
    key: str, attempt: int, retry_of: int | None, kind: str, site: Site, file: str | None,
    outcome: str, final: bool, args_blob: bytes | None, args_repr: str | None,
    digest: str | None, started: float,
) -> dict[str, Any]:
    """The columns of an attempt row every outcome has; the others are None until set (the
    insert binds all of STEP_COLUMNS). Set one by one: on every live step, and about half the
    time of ``dict.update`` with keywords."""
    values = dict(_EMPTY_STEP)
    values["key"] = key
    values["attempt"] = attempt
    values["retry_of"] = retry_of
    values["kind"] = kind
    values["callee"] = site_callee(site)
    values["file"] = file
    values["line"] = site[1]
    values["col"] = site[2]
    values["outcome"] = outcome
    values["final"] = final
    values["args"] = args_blob
    values["args_repr"] = args_repr
    values["args_digest"] = digest
    values["started_at"] = started
    values["finished_at"] = now()
    return values


async def record_ok(
    run: RunContext, key: str, attempt: int, retry_of: int | None, kind: str, site: Site,
    file: str | None, started: float, result: Any, args_blob: bytes | None,
    args_repr: str | None, digest: str | None, fn: Callable[..., Any] | None,
    outcome: str = "ok", *, receiver: object = None,
) -> Any:
    """Write the final row of a live attempt; return what the task gets: the result, a stand-in
    for a live object (standins.py), or what a result that journals itself (a Recorded, see
    completion.py) stands for, restored for ``receiver`` (the awaited object) as replay would."""
    given = result
    # Plain data (the common result) is neither a resource nor a stream nor a live object: the
    # slower checks below are for other types only.
    plain = type(result) in PLAIN
    if outcome != "live" and not plain and is_resource(result):
        outcome, result = "live", None
    if outcome == "live":
        payload, shown = None, "live resource"
    else:
        unread = None if plain else reread(result)
        if unread is not None:
            payload = run.codec.dumps(unread, f"{run.run_id}/{key}")
        else:
            try:
                payload = run.codec.dumps(result, f"{run.run_id}/{key}")
            except PayloadTooLargeError as exc:
                raise run.fail(_unjournalable(
                    run, key, kind, site, file, result,
                    f"is {exc.size} bytes pickled, over the DURABLEC_MAX_PAYLOAD limit of "
                    f"{exc.limit} bytes", "Store large data elsewhere and return a reference to "
                    "it (a path, an object key), or raise DURABLEC_MAX_PAYLOAD")) from exc
            except Exception as exc:  # noqa: BLE001 - any pickling failure is handled the same
                captured = capture(result, getattr(fn, "__self__", None))
                if captured is None:
                    raise run.fail(_unjournalable(
                        run, key, kind, site, file, result, f"cannot be journaled: {exc}",
                        _fix_for(kind))) from exc
                recorded, given = captured
                payload = run.codec.dumps(recorded, f"{run.run_id}/{key}")
        shown = preview(result)
    values = _row(key, attempt, retry_of, kind, site, file, outcome, True, args_blob, args_repr,
                  digest, started)
    values["result"] = payload
    values["result_repr"] = shown
    await run.write(values)
    if type(given) not in PLAIN and isinstance(given, Recorded):
        return given.restore(None, receiver)
    return given


def _unjournalable(
    run: RunContext, key: str, kind: str, site: Site, file: str | None, result: Any, problem: str,
    fix: str,
) -> SerializationError:
    what = {"enter": "the value entered by", "iter": "an item of"}.get(kind, "the result of")
    return SerializationError(
        f"{place(file, site[1])}:{site[2]}: run {run.run_id}, step {key}: {what} "
        f"`{site_callee(site)}` (a {type(result).__module__}.{type(result).__qualname__}) "
        f"{problem}. {fix}"
    )

async def record_error(
    run: RunContext, key: str, attempt: int, retry_of: int | None, kind: str, site: Site,
    file: str | None, started: float, exc: BaseException, args_blob: bytes | None,
    args_repr: str | None, digest: str | None, *, final: bool,
) -> int:
    if final:
        mark_settled(exc)
    status, body = http_details(exc)
    details = dict(
        result=dump_exception(run.codec, f"{run.run_id}/{key}", exc) if final else None,
        error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
        error_message=str(exc), traceback="".join(traceback.format_exception(exc)),
        http_status=status, http_body=body,
    )
    values = _row(key, attempt, retry_of, kind, site, file, "error", final, args_blob, args_repr,
                  digest, started)
    values.update(details)
    return await run.write(values, exc)


async def record_simple(
    run: RunContext, key: str, kind: str, site: Site, file: str | None, started: float,
    outcome: Literal["ok", "error", "stop", "live", "cancelled"], value: Any,
) -> Any:
    """Record the final outcome of an iterator item or a context entry; returns what the
    task gets (a live object that carries data stays live, see standins.py)."""
    if outcome == "error":
        assert isinstance(value, BaseException)
        await record_error(run, key, 1, None, kind, site, file, started, value, None, None,
                                 None, final=True)
        return value
    return await record_ok(run, key, 1, None, kind, site, file, started, value, None, None,
                                 None, None, outcome=outcome)


def _fix_for(kind: str) -> str:
    """The fix that fits the construct whose value could not be journaled."""
    if kind == "enter":
        return ("If it is a client, connection or other resource, declare its class with "
                "`durablec.resource` so that it is entered live on every execution; if it is data, "
                "read what you need inside a `@durablec.step` helper and return that")
    if kind == "iter":
        return "Yield serializable items, or iterate inside a `@durablec.step` helper"
    return ("If it is a client, connection or other resource, declare its class with "
            "`durablec.resource` (opened live on every execution); if it is data, return a "
            "serializable value, for example from a `@durablec.step` helper that reads what you "
            "need from it")
