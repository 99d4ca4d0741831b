"""Checkpoints and replay: the :class:`~durablec.runtime.abi.Scope` a durable run executes in.

A step's key is its place in the call tree: the key of the checkpoint whose callee is running
(the scope path) plus the ordinal of the step within that scope, e.g. ``"2.0"`` for the first
await inside the helper awaited at root step 2. Concurrent children started by one checkpoint
(``asyncio.gather(f(), g())``) get their argument position (``"3:0"``, ``"3:1"``, each journaled as a step of its own), so keys never
depend on timing. Items of an ``async for`` are ``"K#n"`` and the enter/exit of an ``async with``
``"K<"`` / ``"K>"``, under the key ``K`` of the statement.

Replay consults the journal loaded once when the run starts; only live steps touch the database.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal

from durablec.errors import (
    NonDeterminismError,
    PayloadTooLargeError,
    RecordedError,
    SerializationError,
    TamperedPayloadError,
)
from durablec.runtime.abi import Site, active_scope, site_callee
from durablec.runtime.journal import STEP_COLUMNS, Committer, Journal, now
from durablec.runtime.policy import Retry
from durablec.runtime.serde import Codec, canonical_digest, preview

__all__ = ["RunContext", "RunScope", "Suspend", "StepRecord", "TaskPolicy", "run_scope"]

ArgsMismatch = Literal["error", "warn"]
_EMPTY_STEP: Final = dict.fromkeys(STEP_COLUMNS)


class Suspend(BaseException):
    """Takes a run off its worker without keeping its coroutine.

    A BaseException so that a task's ``except Exception`` does not swallow it; every checkpoint
    reached while it unwinds raises it again instead of executing.
    """

    def __init__(
        self, status: str, reason: str, *, wake_at: float | None = None, waiting_for: str | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.wake_at = wake_at
        self.waiting_for = waiting_for
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    """What governs the checkpoints of one task: its retry policy and per-attempt timeout."""

    retry: Retry
    timeout: float | None


@dataclass(slots=True)
class StepRecord:
    """The final outcome of one step, as loaded from the journal."""

    id: int
    kind: str
    callee: str
    file: str | None
    line: int
    outcome: str
    result: bytes | None
    args_digest: str | None


@dataclass(slots=True)
class RunContext:
    """The state of one execution of one run: its journal in memory and its lease."""

    journal: Journal
    writer: Committer | None
    codec: Codec
    run_id: str
    epoch: int
    records: dict[str, StepRecord] = field(default_factory=dict)
    attempts: dict[str, tuple[int, int]] = field(default_factory=dict)
    on_args_mismatch: ArgsMismatch = "error"
    inline_sleep: float = 1.0
    check_only: bool = False
    suspend: Suspend | None = None
    fatal: BaseException | None = None
    live_steps: int = 0

    def load_journal(self, rows: Sequence[Any]) -> None:
        """Index the run's step rows: the final outcome per key, and attempts so far per key."""
        records = self.records
        attempts = self.attempts
        # One copy of each callee and file name instead of one per row.
        names: dict[Any, Any] = {}
        # Unpacked by position (REPLAY_COLUMNS): a 10,000-step journal is read in milliseconds.
        for step_id, key, attempt, final, kind, callee, file, line, outcome, result, digest in rows:
            if final:
                callee = names.setdefault(callee, callee)
                file = names.setdefault(file, file)
                records[key] = StepRecord(step_id, kind, callee, file, line, outcome, result, digest)
            else:
                attempts[key] = (attempt, step_id)

    def suspend_now(self, suspend: Suspend) -> Suspend:
        if self.suspend is None:
            self.suspend = suspend
        return self.suspend

    def stop_if_unwinding(self) -> None:
        """Before a live step: raise the pending suspension, or end a replay check here."""
        if self.suspend is not None:
            raise self.suspend
        if self.check_only:
            raise self.suspend_now(Suspend("pending", "replay check reached the first live step"))

    def fail(self, error: BaseException) -> BaseException:
        """Record a run-level error (non-determinism, serialization) that no ``except`` may hide.

        The run also starts unwinding: a task that catches the error reaches no further step.
        """
        if self.fatal is None:
            self.fatal = error
            self.suspend_now(Suspend("paused", str(error)))
        return error

    def load(self, payload: bytes | None, key: str) -> Any:
        """A recorded outcome; one that cannot be loaded stops the run (no ``except`` may hide it,
        or the task would continue live past a step it cannot replay)."""
        if payload is None:
            return None
        try:
            return self.codec.loads(payload, f"{self.run_id}/{key}")
        except TamperedPayloadError as exc:
            raise self.fail(TamperedPayloadError(
                f"run {self.run_id}, step {key}{self._where(key)}: {exc}; then `durablec retry "
                f"{self.run_id}`. Nothing was executed past this step"
            )) from exc
        except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways; all mean the same
            record = self.records.get(key)
            what = "exception" if record is not None and record.outcome == "error" else "result"
            raise self.fail(NonDeterminismError(
                f"run {self.run_id}, step {key}{self._where(key)}: the recorded {what} cannot be "
                f"loaded ({type(exc).__name__}: {exc}); a class or module it needs was renamed "
                "or removed while the run was in flight. Restore it (or run the code the run "
                f"started with), then `durablec retry {self.run_id}`"
            )) from exc

    def _where(self, key: str) -> str:
        record = self.records.get(key)
        return "" if record is None else f" (`{record.callee}` at {_place(record.file, record.line)})"

    async def write(self, values: dict[str, Any]) -> int:
        """Commit one attempt row (group commit); a lost lease suspends the run (fencing)."""
        if self.check_only:
            raise self.suspend_now(Suspend("pending", "replay check reached a live step"))
        assert self.writer is not None
        values["run_id"] = self.run_id
        values["fence_run"] = self.run_id
        values["fence_epoch"] = self.epoch
        insert_step = self.journal.insert_step
        try:
            step_id = await self.writer.write(lambda conn: insert_step(conn, values))
        except Exception as exc:
            # Not the step's failure: the task must neither see it nor go on past an unrecorded
            # step. Stop like a lost lease (nothing more written); a resume runs the step again.
            raise self.suspend_now(
                Suspend("running", f"run {self.run_id}, step {values['key']}: the journal could "
                        f"not record the step ({type(exc).__name__}: {exc}); the run stopped "
                        "there and resumes from that step once the database accepts writes")
            ) from exc
        if step_id is None:
            raise self.suspend_now(
                Suspend("running", f"run {self.run_id}: lease lost to another worker; not writing")
            )
        self.live_steps += 1
        return step_id


def run_scope() -> RunScope | None:
    """The durable run scope active on this context, if any."""
    scope = active_scope.get()
    return scope if isinstance(scope, RunScope) else None


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

    def child(self, path: str, policy: TaskPolicy | None = None) -> RunScope:
        return RunScope(self.run, path, policy or self.policy)

    # -- the ABI ------------------------------------------------------------------------------

    def checkpoint(
        self, site: Site, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Awaitable[Any]:
        key = self.next_key()
        record = self.run.records.get(key)
        if record is not None:
            return self._replay(key, record, "call", site, args, kwargs)
        return self._call(key, site, fn, args, kwargs, _caller_file())

    def await_(self, site: Site, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        key = self.next_key()
        record = self.run.records.get(key)
        if record is not None:
            return self._replay(key, record, "await", site, (awaitable,), {})
        return self._await(key, site, awaitable, _caller_file())

    def aiter(self, site: Site, iterable: AsyncIterable[Any]) -> AsyncIterable[Any]:
        return _DurableIterator(self, self.next_key(), site, iterable, _caller_file())

    def actx(
        self, site: Site, cm: AbstractAsyncContextManager[Any]
    ) -> AbstractAsyncContextManager[Any]:
        return _DurableContext(self, self.next_key(), site, cm, _caller_file())

    # -- replay -------------------------------------------------------------------------------

    async def _replay(
        self,
        key: str,
        record: StepRecord,
        kind: str,
        site: Site,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        _close_coroutines(args, kwargs)
        run = self.run
        if run.suspend is not None:
            raise run.suspend
        self.verify(key, record, kind, site, args, kwargs)
        if record.outcome == "ok":
            return run.load(record.result, key)
        raise _mark_settled(run.load(record.result, key))

    def verify(
        self,
        key: str,
        record: StepRecord,
        kind: str,
        site: Site,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Raise NonDeterminismError when the code reached another step than the journal holds."""
        callee = site_callee(site)
        run = self.run
        if record.callee != callee or record.kind != kind:
            raise run.fail(
                NonDeterminismError(
                    f"run {run.run_id}, step {key}: the journal recorded {record.kind} "
                    f"`{record.callee}` at {_place(record.file, record.line)}, but the code now "
                    f"reaches {kind} `{callee}` at {_place(_caller_file(3), site[1])}. Steps were "
                    "reordered, replaced, added or removed while the run was in flight: restore "
                    "the order (or run the code the run started with), then `durablec retry "
                    f"{run.run_id}`"
                )
            )
        if record.args_digest is not None and kind == "call":
            digest = canonical_digest(args, kwargs)
            if digest != record.args_digest:
                message = (
                    f"run {run.run_id}, step {key}: `{callee}` at {_place(record.file, record.line)} "
                    "is called with other arguments than the journal recorded; its recorded "
                    "result would be replayed for different inputs. Make the arguments "
                    "deterministic, or set DURABLEC_ARGS_MISMATCH=warn to only warn"
                )
                if run.on_args_mismatch == "warn":
                    warnings.warn(message, RuntimeWarning, stacklevel=2)
                else:
                    raise run.fail(NonDeterminismError(message))

    # -- live ---------------------------------------------------------------------------------

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
            _close_coroutines(args, kwargs)
            run.stop_if_unwinding()
        args_blob, args_repr = self._dump_args(key, args, kwargs)
        digest = canonical_digest(args, kwargs)
        # Coroutine arguments (gather's children) each run in a scope keyed by position; they can
        # be awaited only once, so such a step is never retried as a whole.
        args, kwargs, has_coroutines = _scope_coroutines(self, key, site, file, args, kwargs)
        policy = getattr(fn, "__durablec_policy__", None) or self.policy
        attempt, retry_of = run.attempts.get(key, (0, None))
        while True:
            attempt += 1
            started = now()
            child = RunScope(run, key, policy)
            token = active_scope.set(child)
            try:
                timeout = self.policy.timeout
                if timeout is None:
                    result = await fn(*args, **kwargs)
                else:
                    async with asyncio.timeout(timeout):
                        result = await fn(*args, **kwargs)
            except Exception as exc:
                if run.fatal is not None:
                    raise
                retry = self.policy.retry
                # An error a callee's own step already settled (retried there) is not retried
                # again as a whole; nor is a step whose coroutine arguments are spent.
                can_retry = not has_coroutines and not _settled(exc)
                if can_retry and retry.kind == "manual":
                    await self._record_error(key, attempt, retry_of, "call", site, file, started, exc,
                                       args_blob, args_repr, digest, final=False)
                    raise run.suspend_now(
                        Suspend("paused", f"step {key} `{site_callee(site)}` failed: {exc!r}; "
                                "retry policy is manual: `durablec retry` or `durablec cancel`")
                    ) from exc
                final = not can_retry or attempt >= retry.max_attempts
                retry_of = await self._record_error(key, attempt, retry_of, "call", site, file, started,
                                              exc, args_blob, args_repr, digest, final=final)
                if final:
                    raise _mark_settled(exc)
                delay = retry.delay(attempt)
                if delay > run.inline_sleep:
                    raise run.suspend_now(
                        Suspend("sleeping", f"step {key} retries in {delay:g} s",
                                wake_at=now() + delay)
                    ) from exc
                await asyncio.sleep(delay)
                continue
            finally:
                active_scope.reset(token)
            await self._record_ok(key, attempt, retry_of, "call", site, file, started, result,
                            args_blob, args_repr, digest)
            return result

    async def _await(self, key: str, site: Site, awaitable: Awaitable[Any], file: str | None) -> Any:
        run = self.run
        if run.suspend is not None or run.check_only:
            _close_coroutines((awaitable,), {})
            run.stop_if_unwinding()
        started = now()
        try:
            if asyncio.iscoroutine(awaitable):
                result = await _in_scope(RunScope(run, key, self.policy), awaitable)
            else:
                result = await awaitable
        except Exception as exc:
            if run.fatal is None:
                await self._record_error(key, 1, None, "await", site, file, started, exc, None, None,
                                   None, final=True)
            raise
        await self._record_ok(key, 1, None, "await", site, file, started, result, None, None, None)
        return result

    async def record_simple(
        self, key: str, kind: str, site: Site, file: str | None, started: float,
        outcome: Literal["ok", "error", "stop"], value: Any,
    ) -> None:
        """Record the final outcome of an iterator item or a context enter/exit."""
        if outcome == "error":
            assert isinstance(value, BaseException)
            await self._record_error(key, 1, None, kind, site, file, started, value, None, None, None,
                               final=True)
        else:
            await self._record_ok(key, 1, None, kind, site, file, started, value, None, None, None,
                            outcome=outcome)

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
        args_repr: str | None, digest: str | None, outcome: str = "ok",
    ) -> None:
        run = self.run
        try:
            payload = run.codec.dumps(result, f"{run.run_id}/{key}")
        except Exception as exc:  # noqa: BLE001 - any pickling failure is reported the same way
            if isinstance(exc, PayloadTooLargeError):
                problem = (f"is {exc.size} bytes pickled, over the DURABLEC_MAX_PAYLOAD limit of "
                           f"{exc.limit} bytes")
                fix = ("Store large data elsewhere and return a reference to it (a path, an "
                       "object key), or raise DURABLEC_MAX_PAYLOAD")
            else:
                problem = f"cannot be journaled: {exc}"
                fix = "Return a serializable value"
            raise run.fail(
                SerializationError(
                    f"{_place(file, site[1])}:{site[2]}: run {run.run_id}, step {key}: the result "
                    f"of `{site_callee(site)}` (a {type(result).__module__}."
                    f"{type(result).__qualname__}) {problem}. {fix}, or add `# durablec: skip` "
                    "to that await so it runs live on every replay"
                )
            ) from exc
        values = dict(_EMPTY_STEP)
        values.update(
            key=key, attempt=attempt, retry_of=retry_of, kind=kind, callee=site_callee(site),
            file=file, line=site[1], col=site[2], outcome=outcome, final=True, args=args_blob,
            args_repr=args_repr, args_digest=digest, result=payload, result_repr=preview(result),
            started_at=started, finished_at=now(),
        )
        await run.write(values)

    async def _record_error(
        self, key: str, attempt: int, retry_of: int | None, kind: str, site: Site,
        file: str | None, started: float, exc: BaseException, args_blob: bytes | None,
        args_repr: str | None, digest: str | None, *, final: bool,
    ) -> int:
        run = self.run
        if final:
            _mark_settled(exc)
        status, body = _http_details(exc)
        values = dict(_EMPTY_STEP)
        values.update(
            key=key, attempt=attempt, retry_of=retry_of, kind=kind, callee=site_callee(site),
            file=file, line=site[1], col=site[2], outcome="error", final=final, args=args_blob,
            args_repr=args_repr, args_digest=digest,
            result=_dump_exception(run, key, exc) if final else None,
            error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
            error_message=str(exc), traceback="".join(traceback.format_exception(exc)),
            http_status=status, http_body=body, started_at=started, finished_at=now(),
        )
        return await run.write(values)


class _DurableIterator:
    """``async for`` in a run: each item a checkpoint, replayed items fast-forwarded on resume."""

    def __init__(
        self, scope: RunScope, key: str, site: Site, iterable: AsyncIterable[Any], file: str | None
    ) -> None:
        self._scope = scope
        self._key = key
        self._site = site
        self._iterable = iterable
        self._file = file
        self._child = RunScope(scope.run, key, scope.policy)
        self._iterator: AsyncIterator[Any] | None = None
        self._count = 0

    def __aiter__(self) -> _DurableIterator:
        return self

    async def __anext__(self) -> Any:
        scope = self._scope
        run = scope.run
        index = self._count
        self._count = index + 1
        key = f"{self._key}#{index}"
        record = run.records.get(key)
        if run.suspend is not None:
            raise run.suspend
        if record is not None:
            scope.verify(key, record, "iter", self._site, (), {})
            if record.outcome == "stop":
                raise StopAsyncIteration
            if record.outcome == "ok":
                return run.load(record.result, key)
            raise _mark_settled(run.load(record.result, key))
        run.stop_if_unwinding()
        if self._iterator is None:
            # Items before this one were replayed: restart the iterable and skip them. A compiled
            # async generator replays its own steps while skipping, so nothing runs twice.
            self._iterator = self._iterable.__aiter__()
            for _ in range(index):
                await self._next()
        started = now()
        try:
            value = await self._next()
        except StopAsyncIteration:
            await scope.record_simple(key, "iter", self._site, self._file, started, "stop", None)
            raise
        except Exception as exc:
            if run.fatal is None:
                await scope.record_simple(key, "iter", self._site, self._file, started, "error", exc)
            raise
        await scope.record_simple(key, "iter", self._site, self._file, started, "ok", value)
        return value

    async def _next(self) -> Any:
        assert self._iterator is not None
        token = active_scope.set(self._child)
        try:
            return await self._iterator.__anext__()
        finally:
            active_scope.reset(token)


class _DurableContext:
    """``async with`` in a run: enter and exit are checkpoints sharing one child scope."""

    def __init__(
        self, scope: RunScope, key: str, site: Site, cm: AbstractAsyncContextManager[Any],
        file: str | None,
    ) -> None:
        self._scope = scope
        self._key = key
        self._site = site
        self._cm = cm
        self._file = file
        self._child = RunScope(scope.run, key, scope.policy)
        self._entered_live = False

    async def __aenter__(self) -> Any:
        scope = self._scope
        run = scope.run
        key = self._key + "<"
        record = run.records.get(key)
        if run.suspend is not None:
            raise run.suspend
        if record is not None:
            scope.verify(key, record, "enter", self._site, (), {})
            if record.outcome == "ok":
                return run.load(record.result, key)
            raise _mark_settled(run.load(record.result, key))
        run.stop_if_unwinding()
        started = now()
        try:
            value = await self._enter()
        except Exception as exc:
            if run.fatal is None:
                await scope.record_simple(key, "enter", self._site, self._file, started, "error", exc)
            raise
        await scope.record_simple(key, "enter", self._site, self._file, started, "ok", value)
        return value

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        scope = self._scope
        run = scope.run
        key = self._key + ">"
        record = run.records.get(key)
        if run.suspend is not None:
            # Unwinding for a suspension: release what this execution acquired, record nothing.
            if self._entered_live:
                await self._exit(exc_type, exc, tb)
            return None
        if record is not None:
            scope.verify(key, record, "exit", self._site, (), {})
            if record.outcome == "ok":
                return bool(run.load(record.result, key))
            raise _mark_settled(run.load(record.result, key))
        run.stop_if_unwinding()
        if not self._entered_live:
            # The enter was replayed: enter again (a compiled context manager replays its own
            # steps; a plain one re-acquires its resource) so that the exit runs on a real object.
            await self._enter()
        started = now()
        try:
            suppress = await self._exit(exc_type, exc, tb)
        except Exception as error:
            if run.fatal is None:
                await scope.record_simple(key, "exit", self._site, self._file, started, "error", error)
            raise
        await scope.record_simple(key, "exit", self._site, self._file, started, "ok", bool(suppress))
        return suppress

    async def _enter(self) -> Any:
        token = active_scope.set(self._child)
        try:
            value = await self._cm.__aenter__()
        finally:
            active_scope.reset(token)
        self._entered_live = True
        return value

    async def _exit(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        token = active_scope.set(self._child)
        try:
            return await self._cm.__aexit__(exc_type, exc, tb)
        finally:
            active_scope.reset(token)


async def _in_scope(scope: RunScope, coroutine: Coroutine[Any, Any, Any]) -> Any:
    token = active_scope.set(scope)
    try:
        return await coroutine
    finally:
        active_scope.reset(token)


def _scope_coroutines(
    scope: RunScope, key: str, site: Site, file: str | None, args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any], bool]:
    found = False
    new_args = list(args)
    for index, arg in enumerate(args):
        if asyncio.iscoroutine(arg):
            new_args[index] = _child_step(scope, f"{key}:{index}", site, file, arg)
            found = True
    new_kwargs = kwargs
    for name, value in kwargs.items():
        if asyncio.iscoroutine(value):
            if new_kwargs is kwargs:
                new_kwargs = dict(kwargs)
            new_kwargs[name] = _child_step(scope, f"{key}:{name}", site, file, value)
            found = True
    return (tuple(new_args) if found else args), new_kwargs, found


async def _child_step(
    scope: RunScope, key: str, site: Site, file: str | None, coroutine: Coroutine[Any, Any, Any]
) -> Any:
    """A coroutine handed to a checkpoint (gather's children): its own step, keyed by position.

    Its outcome is journaled like a helper's, so a child that finished is not run again when
    the enclosing step is resumed.
    """
    run = scope.run
    code = getattr(coroutine, "cr_code", None)
    child_site: Site = (code.co_qualname if code else type(coroutine).__qualname__, site[1], site[2])
    record = run.records.get(key)
    if record is not None:
        coroutine.close()
        scope.verify(key, record, "child", child_site, (), {})
        if record.outcome == "ok":
            return run.load(record.result, key)
        raise _mark_settled(run.load(record.result, key))
    if run.suspend is not None or run.check_only:
        coroutine.close()
        run.stop_if_unwinding()
    started = now()
    try:
        value = await _in_scope(RunScope(run, key, scope.policy), coroutine)
    except Exception as exc:
        if run.fatal is None:
            await scope.record_simple(key, "child", child_site, file, started, "error", exc)
        raise
    await scope.record_simple(key, "child", child_site, file, started, "ok", value)
    return value


def _mark_settled(exc: BaseException) -> BaseException:
    try:
        exc.__durablec_settled__ = True  # type: ignore[attr-defined]  # a marker on the instance
    except AttributeError:
        pass  # an exception without __dict__ is at worst retried once more by an outer step
    return exc


def _settled(exc: BaseException) -> bool:
    return getattr(exc, "__durablec_settled__", False) is True


_PLAIN: Final = frozenset({int, str, float, bool, bytes, type(None)})
"""Argument types that are surely not coroutines: skips asyncio.iscoroutine's ABC check."""


def _close_coroutines(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Close coroutine objects that replay does not need, so none is left un-awaited."""
    for value in args:
        if type(value) not in _PLAIN and asyncio.iscoroutine(value):
            value.close()
    for value in kwargs.values():
        if type(value) not in _PLAIN and asyncio.iscoroutine(value):
            value.close()


def _caller_file(depth: int = 3) -> str | None:
    # checkpoint <- abi entry <- compiled code: the user's frame is three levels up.
    try:
        return sys._getframe(depth).f_code.co_filename
    except ValueError:
        return None


def _place(file: str | None, line: int) -> str:
    return f"{file or '<unknown>'}:{line}"


def _dump_exception(run: RunContext, key: str, exc: BaseException) -> bytes:
    """Pickle an exception so replay can raise it again.

    Exceptions whose ``__init__`` takes other arguments than ``args`` (an HTTP error carrying
    its response) do not unpickle the usual way; they are rebuilt from type, args and
    attributes instead. One that still does not round-trip, or is over DURABLEC_MAX_PAYLOAD,
    becomes a RecordedError, its message clipped to fit: a failure is always journaled.
    """
    context = f"{run.run_id}/{key}"
    for candidate in (exc, _Rebuilt(exc)):
        try:
            payload = run.codec.dumps(candidate, context)
            run.codec.loads(payload, context)
            return payload
        except Exception:  # noqa: BLE001 - try the next, more tolerant, encoding
            continue
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    message = str(exc)
    room = run.codec.max_payload // 8  # characters: up to 4 bytes each, and the pickle around
    if len(message) > room:
        message = message[:room] + "… (clipped to fit DURABLEC_MAX_PAYLOAD)"
    return run.codec.dumps(RecordedError(name, message), context)


class _Rebuilt:
    """Pickles an exception as type + args + attributes, bypassing its ``__init__``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        exc = self.exc
        return (_rebuild_exception, (type(exc), exc.args, dict(vars(exc))))


def _rebuild_exception(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    exc = cls.__new__(cls)
    exc.args = args
    vars(exc).update(state)
    return exc


def _http_details(exc: BaseException) -> tuple[int | None, str | None]:
    """Status and body of an HTTP error that carries its response (httpx, requests, aiohttp)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if status is None:
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    body: str | None = None
    try:
        text = getattr(response, "text", None)
        body = text if isinstance(text, str) else None
    except Exception:  # noqa: BLE001 - an unread streaming body is simply not recorded
        body = None
    return (status if isinstance(status, int) else None), (body[:10000] if body else None)
