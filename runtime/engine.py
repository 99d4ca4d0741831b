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
checkpoint (retrying.py, context.py's ``rewind``).
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from types import FunctionType
from typing import Any

from durablec.errors import NonDeterminismError
from durablec.runtime.abi import Site, active_scope, site_callee
from durablec.runtime.context import RunContext, StepRecord, TaskPolicy, place
from durablec.runtime.control import mark_settled, settled
from durablec.runtime.journal import now
from durablec.runtime.observer import StepEvent
from durablec.runtime.recording import PLAIN, dump_args, record_error, record_ok
from durablec.runtime.resources import CLOSERS, closes_resource, replayed_commit
from durablec.runtime.retrying import back_off, failed
from durablec.runtime.serde import canonical_digest
from durablec.runtime.standins import Recorded, Reopen
from durablec.runtime.transactions import connection_in_transaction

__all__ = ["CheckStub", "RunScope", "caller_file", "close_coroutines", "run_scope"]


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
        # A plain function (most steps) has no receiver: it neither closes a resource nor goes
        # through a connection, so one type test spares it the attribute lookups below.
        bound = type(fn) is not FunctionType
        if bound and getattr(fn, "__name__", None) in CLOSERS and closes_resource(fn):
            # Releasing a resource runs live always, even while unwinding for a suspension.
            return fn(*args, **kwargs)
        record = self.run.records.get(key)
        if record is not None:
            if record.outcome == "live":
                return self._live(key, fn, args, kwargs)
            if bound and record.outcome == "ok" and hasattr(fn, "__self__"):
                if getattr(fn, "__name__", None) == "commit":
                    replayed_commit(fn)
                self.run.pending.replayed(fn, args, kwargs)
            return self.replay(key, record, "call", site, args, kwargs, fn)
        return self._call(key, site, fn, args, kwargs, caller_file())

    def await_(self, site: Site, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        key = self.next_key()
        record = self.run.records.get(key)
        if record is not None and record.outcome != "live":
            return self.replay(key, record, "await", site, (awaitable,), {}, None,
                               receiver=awaitable)
        return self._await(key, site, awaitable, caller_file(), record)

    def aiter(self, site: Site, iterable: AsyncIterable[Any]) -> AsyncIterable[Any]:
        return _wrappers.DurableIterator(self, self.next_key(), site, iterable, caller_file())

    def actx(
        self, site: Site, cm: AbstractAsyncContextManager[Any]
    ) -> AbstractAsyncContextManager[Any]:
        return _wrappers.DurableContext(self, self.next_key(), site, cm, caller_file())

    def race(
        self, site: Site, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        from durablec.runtime.completion import race

        return race(self, site, fn, args, kwargs, caller_file())

    # -- replay -------------------------------------------------------------------------------

    async def replay(
        self, key: str, record: StepRecord, kind: str, site: Site, args: tuple[Any, ...],
        kwargs: dict[str, Any], fn: Callable[..., Awaitable[Any]] | None,
        reopen: Reopen | None = None, receiver: object = None,
    ) -> Any:
        """Return (or raise) a step's recorded outcome; the one path every replayed step takes.

        A live value journaled as a stand-in (standins.py) is obtained again, when a replay must
        read past what was journaled, by calling ``fn`` again or by ``reopen``. ``receiver`` is
        what a Recorded outcome is restored for when there is no ``fn`` (the awaited object of an
        ``await`` step)."""
        if kwargs or len(args) > 1 or type(args[0] if args else None) not in PLAIN:
            close_coroutines(args, kwargs)
        run = self.run
        if run.suspend is not None:
            raise run.suspend
        # The checks of verify() inline, which is called only to raise (or warn): every
        # replayed step passes here.
        callee = site[0]
        if type(callee) is not str:
            callee = site_callee(site)
        if callee != record.callee or kind != record.kind or (
            record.args_digest is not None and kind == "call"
            and canonical_digest(args, kwargs) != record.args_digest
        ):
            self.verify(key, record, kind, site, args, kwargs)
        run.replayed += 1
        observer = run.observer
        if observer is not None:
            observer.step_replayed(StepEvent(run.run_id, key, kind, record.callee, record.file,
                                             record.line, record.attempt), record.outcome)
        # Only a step this execution recorded has its payload in the database (lazy).
        value = run.outcome(key, record) if record.lazy else run.load(record.result, key)
        if record.outcome == "error":
            raise mark_settled(value)
        if type(value) not in PLAIN and isinstance(value, Recorded):
            if fn is not None:
                reopen = lambda: _detached(fn(*args, **kwargs))  # noqa: E731
            return value.restore(reopen, receiver if fn is None else getattr(fn, "__self__", None))
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
        args_blob, args_repr = dump_args(run, key, args, kwargs)
        digest = canonical_digest(args, kwargs)
        # Coroutine arguments (gather's children) each run in a scope keyed by position; they can
        # be awaited only once, so such a step is never retried as a whole.
        args, kwargs, has_coroutines = _wrappers.scope_coroutines(
            self, key, site, file, args, kwargs)
        # A task awaited inline or a @durablec.step helper brings its own policy.
        policy: TaskPolicy = getattr(fn, "__durablec_policy__", None) or self.policy
        attempt, retry_of, base = run.attempts.get(key, (0, None, 0))
        while True:
            attempt += 1
            started = now() if run.observer is None else run.started(key, "call", site, file,
                                                                     attempt)
            token = active_scope.set(RunScope(run, key, policy))
            try:
                if run.pending.calls:  # the dict itself: this runs for every live call
                    # Uncommitted statements this connection replayed run again first
                    # (transactions.py).
                    await run.pending.redo(connection_in_transaction(getattr(fn, "__self__", None)),
                                           rollback=getattr(fn, "__name__", None) == "rollback")
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
                retry_of, delay = await failed(
                    run, key, "call", site, file, started, exc, policy, attempt, base, retry_of,
                    can_retry, args_blob, args_repr, digest)
                await back_off(run, key, delay, exc)
                continue
            finally:
                active_scope.reset(token)
            return await record_ok(run, key, attempt, retry_of, "call", site, file, started,
                                         result, args_blob, args_repr, digest, fn)

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
        started = run.started(key, "await", site, file)
        try:
            if asyncio.iscoroutine(awaitable):
                result = await _in_scope(RunScope(run, key, self.policy), awaitable)
            else:
                result = await awaitable
        except Exception as exc:
            if run.fatal is None and record is None:
                await record_error(run, key, 1, None, "await", site, file, started, exc, None,
                                         None, None, final=True)
            raise
        if record is not None:  # opened a resource again: nothing to record
            return result
        return await record_ok(run, key, 1, None, "await", site, file, started, result, None,
                                     None, None, None, receiver=awaitable)

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
        if type(value) not in PLAIN and asyncio.iscoroutine(value):
            value.close()
    for value in kwargs.values():
        if type(value) not in PLAIN and asyncio.iscoroutine(value):
            value.close()


def caller_file(depth: int = 3) -> str | None:
    # checkpoint <- abi entry <- compiled code: the user's frame is three levels up.
    try:
        return sys._getframe(depth).f_code.co_filename
    except ValueError:
        return None


# Last, and as a module: wrappers.py builds on RunScope above. An import statement inside the
# methods would run on every live step (it costs about a microsecond each time).
import durablec.runtime.wrappers as _wrappers  # noqa: E402
