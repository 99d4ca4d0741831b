"""Checkpoints and replay: the :class:`~durablec.runtime.abi.Scope` a durable run executes in.

A step's key is its place in the call tree: the key of the checkpoint whose callee is running
(the scope path) plus the ordinal of the step within that scope, e.g. ``"2.0"`` for the first
await inside the helper awaited at root step 2. Concurrent children started by one checkpoint
(``asyncio.gather(f(), g())``) get their argument position (``"3:0"``, ``"3:1"``, each journaled as
a step of its own), so keys never depend on timing. Items of an ``async for`` are ``"K#n"`` and
the entry of an ``async with`` is ``"K<"``, under the key ``K`` of the statement (wrappers.py).

Replay consults the journal loaded once when the run starts; only live steps touch the database.
Resources (resources.py) run live in every execution; data is journaled (standins.py for live
objects that carry data). An exception that escapes a scope is retried from the scope's last
checkpoint (:func:`run_body`, :meth:`RunScope._call`, context.py's ``rewind``).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
import warnings
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Final, Literal

from durablec.errors import NonDeterminismError, PayloadTooLargeError, SerializationError
from durablec.runtime.abi import Site, active_scope, site_callee
from durablec.runtime.context import BODY_KEY, RunContext, StepRecord, TaskPolicy, place
from durablec.runtime.control import Suspend, mark_settled, settled
from durablec.runtime.failures import dump_exception, http_details
from durablec.runtime.journal import STEP_COLUMNS, now
from durablec.runtime.resources import closes_resource, is_resource, replayed_commit
from durablec.runtime.serde import canonical_digest, preview
from durablec.runtime.standins import Recorded, Reopen, capture, reread

__all__ = ["CheckStub", "RunScope", "caller_file", "close_coroutines", "run_body", "run_scope"]

_EMPTY_STEP: Final = dict.fromkeys(STEP_COLUMNS)

_PLAIN: Final = frozenset({int, str, float, bool, bytes, type(None), list, dict, tuple})
"""Result types that are surely neither resources nor coroutines: skips the slower checks."""


def run_scope() -> RunScope | None:
    """The durable run scope active on this context, if any."""
    scope = active_scope.get()
    return scope if isinstance(scope, RunScope) else None


class CheckStub:
    """Stands for a resource during ``replay --check``, which opens nothing: every call through it
    is a checkpoint that replays, and one that would run live ends the check first."""

    def __getattr__(self, name: str) -> CheckStub:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> CheckStub:
        return self

    def __await__(self) -> Any:
        return self._self().__await__()

    async def _self(self) -> CheckStub:
        return self

    async def __aenter__(self) -> CheckStub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class RunScope:
    """One level of the call tree of a run; implements the ABI's Scope protocol."""

    __slots__ = ("run", "path", "counter", "policy")

    def __init__(self, run: RunContext, path: str, policy: TaskPolicy) -> None:
        self.run = run
        self.path = path
        self.counter = 0
        self.policy = policy

    def next_key(self) -> str:
        """Allocate the key of this scope's next step."""
        ordinal = self.counter
        self.counter = ordinal + 1
        return f"{self.path}.{ordinal}" if self.path else str(ordinal)

    def peek_key(self) -> str:
        """The key the next step of this scope will get."""
        return f"{self.path}.{self.counter}" if self.path else str(self.counter)

    # -- the ABI ------------------------------------------------------------------------------

    def checkpoint(
        self, site: Site, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Awaitable[Any]:
        key = self.next_key()
        if closes_resource(fn):
            # Releasing a resource runs live always, even while unwinding for a suspension.
            return fn(*args, **kwargs)
        record = self.run.records.get(key)
        if record is not None:
            if record.outcome == "live":
                return self._live(key, fn, args, kwargs)
            if getattr(fn, "__name__", None) == "commit" and record.outcome == "ok":
                replayed_commit(fn)
            return self.replay(key, record, "call", site, args, kwargs, fn)
        return self._call(key, site, fn, args, kwargs, caller_file())

    def await_(self, site: Site, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        key = self.next_key()
        record = self.run.records.get(key)
        if record is not None and record.outcome != "live":
            return self.replay(key, record, "await", site, (awaitable,), {}, None)
        return self._await(key, site, awaitable, caller_file(), record)

    def aiter(self, site: Site, iterable: AsyncIterable[Any]) -> AsyncIterable[Any]:
        from durablec.runtime.wrappers import DurableIterator

        return DurableIterator(self, self.next_key(), site, iterable, caller_file())

    def actx(
        self, site: Site, cm: AbstractAsyncContextManager[Any]
    ) -> AbstractAsyncContextManager[Any]:
        from durablec.runtime.wrappers import DurableContext

        return DurableContext(self, self.next_key(), site, cm, caller_file())

    # -- replay -------------------------------------------------------------------------------

    async def replay(
        self, key: str, record: StepRecord, kind: str, site: Site, args: tuple[Any, ...],
        kwargs: dict[str, Any], fn: Callable[..., Awaitable[Any]] | None,
        reopen: Reopen | None = None,
    ) -> Any:
        """Return (or raise) a step's recorded outcome; the one path every replayed step takes.

        A live value journaled as a stand-in (standins.py) is obtained again, when a replay must
        read past what was journaled, by calling ``fn`` again or by ``reopen``."""
        close_coroutines(args, kwargs)
        run = self.run
        if run.suspend is not None:
            raise run.suspend
        self.verify(key, record, kind, site, args, kwargs)
        value = run.outcome(key, record)
        if record.outcome == "error":
            raise mark_settled(value)
        if isinstance(value, Recorded):
            if fn is not None:
                reopen = lambda: _detached(fn(*args, **kwargs))  # noqa: E731
            return value.restore(reopen, getattr(fn, "__self__", None))
        return value

    def verify(
        self, key: str, record: StepRecord, kind: str, site: Site, args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Raise NonDeterminismError when the code reached another step than the journal holds."""
        callee = site_callee(site)
        run = self.run
        if record.callee != callee or record.kind != kind:
            raise run.fail(
                NonDeterminismError(
                    f"run {run.run_id}, step {key}: the journal recorded {record.kind} "
                    f"`{record.callee}` at {place(record.file, record.line)}, but the code now "
                    f"reaches {kind} `{callee}` at {place(caller_file(3), site[1])}. Steps were "
                    "reordered, replaced, added or removed while the run was in flight: restore "
                    "the order (or run the code the run started with), then `durablec retry "
                    f"{run.run_id}`"
                )
            )
        if record.args_digest is not None and kind == "call":
            digest = canonical_digest(args, kwargs)
            if digest != record.args_digest:
                message = (
                    f"run {run.run_id}, step {key}: `{callee}` at {place(record.file, record.line)} "
                    "is called with other arguments than the journal recorded; its recorded "
                    "result would be replayed for different inputs. Make the arguments "
                    "deterministic, or set DURABLEC_ARGS_MISMATCH=warn to only warn"
                )
                if run.on_args_mismatch == "warn":
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
                else:
                    raise run.fail(NonDeterminismError(message))

    # -- live ---------------------------------------------------------------------------------

    async def _live(
        self, key: str, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """A step that opens a resource, recorded as such before: open it again, record nothing."""
        run = self.run
        if run.suspend is not None:
            close_coroutines(args, kwargs)
            raise run.suspend
        if run.check_only:
            close_coroutines(args, kwargs)
            return CheckStub()
        token = active_scope.set(RunScope(run, key, self.policy))
        try:
            return await fn(*args, **kwargs)
        finally:
            active_scope.reset(token)

    async def _call(
        self,
        key: str,
        site: Site,
        fn: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        file: str | None,
    ) -> Any:
        run = self.run
        if run.suspend is not None or run.check_only:
            close_coroutines(args, kwargs)
            run.stop_if_unwinding()
        args_blob, args_repr = self._dump_args(key, args, kwargs)
        digest = canonical_digest(args, kwargs)
        # Coroutine arguments (gather's children) each run in a scope keyed by position; they can
        # be awaited only once, so such a step is never retried as a whole.
        from durablec.runtime.wrappers import scope_coroutines

        args, kwargs, has_coroutines = scope_coroutines(self, key, site, file, args, kwargs)
        # A task awaited inline or a @durablec.step helper brings its own policy.
        policy: TaskPolicy = getattr(fn, "__durablec_policy__", None) or self.policy
        attempt, retry_of, base = run.attempts.get(key, (0, None, 0))
        while True:
            attempt += 1
            started = now()
            token = active_scope.set(RunScope(run, key, policy))
            try:
                if policy.timeout is None:
                    result = await fn(*args, **kwargs)
                else:
                    async with asyncio.timeout(policy.timeout):
                        result = await fn(*args, **kwargs)
            except Exception as exc:
                if run.fatal is not None:
                    raise
                # An error a callee's own step already settled (retried there) is not retried
                # again as a whole; nor is a step whose coroutine arguments are spent.
                can_retry = not has_coroutines and not settled(exc)
                retry_of, delay = await self.failed(
                    key, "call", site, file, started, exc, policy, attempt, base, retry_of,
                    can_retry, args_blob, args_repr, digest)
                await self.back_off(key, delay, exc)
                continue
            finally:
                active_scope.reset(token)
            return await self._record_ok(key, attempt, retry_of, "call", site, file, started,
                                         result, args_blob, args_repr, digest, fn)

    async def failed(
        self, key: str, kind: str, site: Site, file: str | None, started: float,
        exc: BaseException, policy: TaskPolicy, attempt: int, base: int, retry_of: int | None,
        can_retry: bool, args_blob: bytes | None = None, args_repr: str | None = None,
        digest: str | None = None,
    ) -> tuple[int, float]:
        """Record a failed attempt of a step or scope; raise when it is final (or pauses).

        Returns the attempt's row id and the delay before the next attempt. The retried scope
        is rewound first: the next attempt replays up to its last checkpoint and runs that one
        (and what followed it) live again.
        """
        run = self.run
        retry = policy.retry
        if can_retry and retry.kind == "manual":
            await self._record_error(key, attempt, retry_of, kind, site, file, started, exc,
                                     args_blob, args_repr, digest, final=False)
            run.rewind(key)
            raise run.suspend_now(
                Suspend("paused", f"step {key or 'task body'} `{site_callee(site)}` failed: "
                        f"{exc!r}; retry policy is manual: `durablec retry` or `durablec cancel`")
            ) from exc
        final = not can_retry or attempt - base >= retry.max_attempts
        row = await self._record_error(key, attempt, retry_of, kind, site, file, started, exc,
                                       args_blob, args_repr, digest, final=final)
        if final:
            raise mark_settled(exc)
        run.rewind(key)
        return row, retry.delay(attempt - base)

    async def back_off(self, key: str, delay: float, exc: BaseException) -> None:
        """Wait before the next attempt: in place when short, else suspended until it is due."""
        run = self.run
        if delay > run.inline_sleep:
            raise run.suspend_now(
                Suspend("sleeping", f"step {key or 'task body'} retries in {delay:g} s",
                        wake_at=now() + delay)
            ) from exc
        await asyncio.sleep(delay)

    async def _await(
        self, key: str, site: Site, awaitable: Awaitable[Any], file: str | None,
        record: StepRecord | None,
    ) -> Any:
        run = self.run
        if run.suspend is not None or (run.check_only and record is None):
            close_coroutines((awaitable,), {})
            run.stop_if_unwinding()
        if run.check_only:
            close_coroutines((awaitable,), {})
            return CheckStub()
        started = now()
        try:
            if asyncio.iscoroutine(awaitable):
                result = await _in_scope(RunScope(run, key, self.policy), awaitable)
            else:
                result = await awaitable
        except Exception as exc:
            if run.fatal is None and record is None:
                await self._record_error(key, 1, None, "await", site, file, started, exc, None,
                                         None, None, final=True)
            raise
        if record is not None:  # opened a resource again: nothing to record
            return result
        return await self._record_ok(key, 1, None, "await", site, file, started, result, None,
                                     None, None, None)

    async def record_simple(
        self, key: str, kind: str, site: Site, file: str | None, started: float,
        outcome: Literal["ok", "error", "stop", "live"], value: Any,
    ) -> Any:
        """Record the final outcome of an iterator item or a context entry; returns what the
        task gets (a live object that carries data stays live, see standins.py)."""
        if outcome == "error":
            assert isinstance(value, BaseException)
            await self._record_error(key, 1, None, kind, site, file, started, value, None, None,
                                     None, final=True)
            return value
        return await self._record_ok(key, 1, None, kind, site, file, started, value, None, None,
                                     None, None, outcome=outcome)

    # -- recording ----------------------------------------------------------------------------

    def _dump_args(
        self, key: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[bytes | None, str | None]:
        if not args and not kwargs:
            return None, None
        try:
            return self.run.codec.dumps((args, kwargs), f"{self.run.run_id}/{key}/args"), None
        except Exception:  # noqa: BLE001 - unpicklable arguments are recorded as their repr
            return None, preview((args, kwargs), 2000)

    async def _record_ok(
        self, key: str, attempt: int, retry_of: int | None, kind: str, site: Site,
        file: str | None, started: float, result: Any, args_blob: bytes | None,
        args_repr: str | None, digest: str | None, fn: Callable[..., Any] | None,
        outcome: str = "ok",
    ) -> Any:
        run = self.run
        given = result
        if outcome != "live" and type(result) not in _PLAIN and is_resource(result):
            outcome, result = "live", None
        unread = None if outcome == "live" or type(result) in _PLAIN else reread(result)
        if outcome == "live":
            payload, shown = None, "live resource"
        elif unread is not None:
            payload, shown = run.codec.dumps(unread, f"{run.run_id}/{key}"), preview(result)
        else:
            try:
                payload = run.codec.dumps(result, f"{run.run_id}/{key}")
            except PayloadTooLargeError as exc:
                raise run.fail(self._unjournalable(
                    key, kind, site, file, result,
                    f"is {exc.size} bytes pickled, over the DURABLEC_MAX_PAYLOAD limit of "
                    f"{exc.limit} bytes", "Store large data elsewhere and return a reference to "
                    "it (a path, an object key), or raise DURABLEC_MAX_PAYLOAD")) from exc
            except Exception as exc:  # noqa: BLE001 - any pickling failure is handled the same
                captured = capture(result, getattr(fn, "__self__", None))
                if captured is None:
                    raise run.fail(self._unjournalable(
                        key, kind, site, file, result, f"cannot be journaled: {exc}",
                        _fix_for(kind))) from exc
                recorded, given = captured
                payload = run.codec.dumps(recorded, f"{run.run_id}/{key}")
            shown = preview(result)
        values = dict(_EMPTY_STEP)
        values.update(
            key=key, attempt=attempt, retry_of=retry_of, kind=kind, callee=site_callee(site),
            file=file, line=site[1], col=site[2], outcome=outcome, final=True, args=args_blob,
            args_repr=args_repr, args_digest=digest, result=payload, result_repr=shown,
            started_at=started, finished_at=now(),
        )
        await run.write(values)
        return given

    def _unjournalable(
        self, key: str, kind: str, site: Site, file: str | None, result: Any, problem: str, fix: str
    ) -> SerializationError:
        run = self.run
        what = {"enter": "the value entered by", "iter": "an item of"}.get(kind, "the result of")
        return SerializationError(
            f"{place(file, site[1])}:{site[2]}: run {run.run_id}, step {key}: {what} "
            f"`{site_callee(site)}` (a {type(result).__module__}.{type(result).__qualname__}) "
            f"{problem}. {fix}"
        )

    async def _record_error(
        self, key: str, attempt: int, retry_of: int | None, kind: str, site: Site,
        file: str | None, started: float, exc: BaseException, args_blob: bytes | None,
        args_repr: str | None, digest: str | None, *, final: bool,
    ) -> int:
        run = self.run
        if final:
            mark_settled(exc)
        status, body = http_details(exc)
        values = dict(_EMPTY_STEP)
        values.update(
            key=key, attempt=attempt, retry_of=retry_of, kind=kind, callee=site_callee(site),
            file=file, line=site[1], col=site[2], outcome="error", final=final, args=args_blob,
            args_repr=args_repr, args_digest=digest,
            result=dump_exception(run.codec, f"{run.run_id}/{key}", exc) if final else None,
            error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
            error_message=str(exc), traceback="".join(traceback.format_exception(exc)),
            http_status=status, http_body=body, started_at=started, finished_at=now(),
        )
        return await run.write(values)


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
        started = now()
        token = active_scope.set(root)
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            if run.fatal is not None or run.check_only:
                raise
            retry_of, delay = await root.failed(
                BODY_KEY, "body", site, file, started, exc, root.policy, attempt, base, retry_of,
                not settled(exc) and not isinstance(exc, NonDeterminismError))
            await root.back_off(BODY_KEY, delay, exc)
        finally:
            active_scope.reset(token)


async def _in_scope(scope: RunScope, coroutine: Coroutine[Any, Any, Any]) -> Any:
    token = active_scope.set(scope)
    try:
        return await coroutine
    finally:
        active_scope.reset(token)


async def _detached(awaitable: Awaitable[Any]) -> Any:
    """Await outside any scope: a stream requested again is live, not a step of its own."""
    token = active_scope.set(None)
    try:
        return await awaitable
    finally:
        active_scope.reset(token)


def close_coroutines(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Close coroutine objects that replay does not need, so none is left un-awaited."""
    for value in args:
        if type(value) not in _PLAIN and asyncio.iscoroutine(value):
            value.close()
    for value in kwargs.values():
        if type(value) not in _PLAIN and asyncio.iscoroutine(value):
            value.close()


def caller_file(depth: int = 3) -> str | None:
    # checkpoint <- abi entry <- compiled code: the user's frame is three levels up.
    try:
        return sys._getframe(depth).f_code.co_filename
    except ValueError:
        return None
