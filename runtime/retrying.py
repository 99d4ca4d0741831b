"""Retrying: a failed attempt of a step or scope, its backoff, and the task body's attempts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from durablec.errors import NonDeterminismError
from durablec.runtime.abi import Site, active_scope, site_callee
from durablec.runtime.clock import clock
from durablec.runtime.context import BODY_KEY, RunContext, TaskPolicy
from durablec.runtime.control import Suspend, mark_settled, settled
from durablec.runtime.journal import now
from durablec.runtime.recording import record_error

if TYPE_CHECKING:
    from durablec.runtime.engine import RunScope

__all__ = ["back_off", "failed", "run_body"]


async def failed(
    run: RunContext, key: str, kind: str, site: Site, file: str | None, started: float,
    exc: BaseException, policy: TaskPolicy, attempt: int, base: int, retry_of: int | None,
    can_retry: bool, args_blob: bytes | None = None, args_repr: str | None = None,
    digest: str | None = None,
) -> tuple[int, float]:
    """Record a failed attempt of a step or scope; raise when it is final (or pauses).

    Returns the attempt's row id and the delay before the next attempt. The retried scope
    is rewound first: the next attempt replays up to its last checkpoint and runs that one
    (and what followed it) live again.
    """
    retry = policy.retry
    if can_retry and retry.kind == "manual":
        await record_error(run, key, attempt, retry_of, kind, site, file, started, exc,
                                 args_blob, args_repr, digest, final=False)
        run.rewind(key)
        raise run.suspend_now(
            Suspend("paused", f"step {key or 'task body'} `{site_callee(site)}` failed: "
                    f"{exc!r}; retry policy is manual: `durablec retry` or `durablec cancel`")
        ) from exc
    final = not can_retry or attempt - base >= retry.max_attempts
    row = await record_error(run, key, attempt, retry_of, kind, site, file, started, exc,
                                   args_blob, args_repr, digest, final=final)
    if final:
        raise mark_settled(exc)
    run.rewind(key)
    return row, retry.delay(attempt - base)

async def back_off(run: RunContext, key: str, delay: float, exc: BaseException) -> None:
    """Wait before the next attempt: in place when short (or when time is skipped), else
    suspended until it is due."""
    timer = clock()
    if delay > run.inline_sleep and not timer.skips:
        raise run.suspend_now(
            Suspend("retrying", f"step {key or 'task body'} failed ({type(exc).__name__}: "
                    f"{exc}); it retries in {delay:g} s", wake_at=now() + delay)
        ) from exc
    await timer.sleep(delay)


async def run_body(root: RunScope, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Any:
    """Run the task body under the task's retry policy.

    An exception the body raises itself (``r.raise_for_status()`` after a step) is retried from
    the last checkpoint: each failed attempt is a ``body`` row, the journal index is rewound,
    and the body runs again from the top, replaying all but its last step.
    """
    run = root.run
    code = getattr(fn, "__code__", None)
    site: Site = (getattr(fn, "__qualname__", "task"), code.co_firstlineno if code else 0, 0)
    file = code.co_filename if code else None
    attempt, retry_of, base = run.attempts.get(BODY_KEY, (0, None, 0))
    while True:
        attempt += 1
        root.counter = 0
        started = now()  # an execution, not a step: observers see it as run_started
        token = active_scope.set(root)
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            if run.fatal is not None or run.check_only:
                raise
            retry_of, delay = await failed(
                run, BODY_KEY, "body", site, file, started, exc, root.policy, attempt, base, retry_of,
                not settled(exc) and not isinstance(exc, NonDeterminismError))
            await back_off(run, BODY_KEY, delay, exc)
        finally:
            active_scope.reset(token)
