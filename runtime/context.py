"""The state of one execution of one run: its journal index, its lease fence, how it stops.

The index holds the final outcome of every step, loaded once when the execution starts and
extended by each step it records. When an exception escapes a scope (the task body or a compiled
helper) and the scope is retried, :meth:`RunContext.rewind` removes from the index what the new
attempt must run again: the scope's last step and everything recorded after it began. The same
rewind is applied when the journal is loaded, at each row that records such a retry, so a retry in
this process, after a suspension and after a crash see the same index (docs/runtime.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from durablec.errors import NonDeterminismError, TamperedPayloadError
from durablec.runtime.abi import Site, site_callee
from durablec.runtime.journal import Committer
from durablec.runtime.control import Suspend
from durablec.runtime.journal import REPLAY_COLUMNS, Journal, now, step_with_logs
from durablec.runtime.observer import StepEvent, StepObserver
from durablec.runtime.policy import Retry
from durablec.runtime.serde import Codec
from durablec.runtime.transactions import Pending

__all__ = ["BODY_KEY", "RunContext", "StepRecord", "TaskPolicy", "place"]

ArgsMismatch = Literal["error", "warn"]

BODY_KEY: Final = ""
"""The key of the rows that record a failed attempt of the task body (the root scope)."""

_SLOT_ENDS: Final = frozenset(".:#<>")

_UNPACKED: Final = ("id", "key", "attempt", "final", "kind", "callee", "file", "line", "outcome",
                    "result", "args_digest")
"""The order :meth:`RunContext.load_journal` unpacks replay rows in (by position, for speed)."""
if REPLAY_COLUMNS != _UNPACKED:  # the two live in two modules: a change to one must reach both
    raise ImportError(f"the store's REPLAY_COLUMNS {REPLAY_COLUMNS} are not the order "
                      f"RunContext.load_journal unpacks ({_UNPACKED}); change both together")


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    """What governs the checkpoints of one task: its retry policy and per-attempt timeout."""

    retry: Retry
    timeout: float | None


class StepRecord(NamedTuple):
    """The final outcome of one step: loaded from the journal, or recorded by this execution.
    ``lazy``: its payload stays in the database until replay needs it (a step this execution
    recorded, or a result over DURABLEC_LAZY_PAYLOAD that the load left out), and is not kept.

    A NamedTuple: one is built for every step a run loads or records, and it builds in about
    half the time of a slotted dataclass."""

    id: int
    kind: str
    callee: str
    file: str | None
    line: int
    outcome: str
    result: bytes | None
    args_digest: str | None
    attempt: int = 1
    lazy: bool = False


_new_record: Final = tuple.__new__
"""Builds a StepRecord from a tuple of every field: a NamedTuple's own ``__new__`` is a Python
function, about four times slower, and one record is built per step loaded or recorded."""


@dataclass(slots=True)
class RunContext:
    """The state of one execution of one run: its journal in memory and its lease."""

    journal: Journal
    writer: Committer | None
    codec: Codec
    run_id: str
    epoch: int
    records: dict[str, StepRecord] = field(default_factory=dict)
    attempts: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Per key: (last attempt number, its row id, the attempt number its retry budget counts from)."""
    on_args_mismatch: ArgsMismatch = "error"
    inline_sleep: float = 1.0
    check_only: bool = False
    suspend: Suspend | None = None
    fatal: BaseException | None = None
    live_steps: int = 0
    replayed: int = 0
    """Steps replayed so far in this execution (its record and the observer's run_ended)."""
    observer: StepObserver | None = None
    pending: Pending = field(default_factory=Pending)
    """Replayed statements of connections whose transaction is not known to be committed."""
    logs: list[dict[str, Any]] = field(default_factory=list)
    """Log rows the task wrote since the last write, committed with the next one (logs.py)."""
    logged: dict[tuple[int, str], int] = field(default_factory=dict)
    """Log rows earlier executions committed, per (body attempt, position), not yet written
    again by this one's replay (logs.py)."""

    def take_logs(self) -> list[dict[str, Any]]:
        """The log rows not yet committed, handed to a write that commits them."""
        taken, self.logs = self.logs, []
        return taken

    def load_journal(self, rows: Iterable[Sequence[Any]]) -> None:
        """Index the run's step rows, in recording order: the final outcome per key, attempts so
        far per key, and the rewind of each retried scope."""
        records = self.records
        attempts = self.attempts
        names: dict[Any, Any] = {}
        # Unpacked by position (_UNPACKED, checked against REPLAY_COLUMNS at import): a
        # 10,000-step journal is read in milliseconds.
        for step_id, key, attempt, final, kind, callee, file, line, outcome, result, digest in rows:
            if kind == "body":
                # A body attempt that failed: the next one starts from the last checkpoint. A
                # final one ended the run; if it runs again, `durablec retry` gave it a new budget.
                self.rewind(BODY_KEY)
                attempts[key] = (attempt, step_id, attempt if final else attempts.get(key, (0, 0, 0))[2])
            elif final:
                # The driver makes a new string per cell; a resume keeps one of each.
                callee = names.setdefault(callee, callee)
                file = names.setdefault(file, file)
                kind = names.setdefault(kind, kind)
                outcome = names.setdefault(outcome, outcome)
                # A NULL result is a large one left in the database (load_steps): lazy.
                records[key] = _new_record(StepRecord, (step_id, kind, callee, file, line, outcome,
                                                        result, digest, attempt, result is None))
            else:
                if outcome == "error":
                    self.rewind(key)
                attempts[key] = (attempt, step_id, attempts.get(key, (0, 0, 0))[2])

    def rewind(self, path: str) -> None:
        """Drop what the next attempt of scope ``path`` runs again: its last step (the step with
        the highest ordinal that recorded a row) and every outcome recorded under the scope since
        that step began. Live resource entries stay: they are not outcomes."""
        prefix = f"{path}." if path else ""
        start = len(prefix)
        last = -1
        for key in (*self.records, *self.attempts):
            if key.startswith(prefix) and key != path:
                ordinal = _ordinal(key, start)
                if ordinal > last and (key not in self.records or self.records[key].outcome != "live"):
                    last = ordinal
        if last < 0:
            return
        slot = f"{prefix}{last}"
        begun = min(
            [record.id for key, record in self.records.items() if _in_slot(key, slot)]
            + [row_id for key, (_, row_id, _) in self.attempts.items() if _in_slot(key, slot)]
        )
        for key in [key for key, record in self.records.items()
                    if key.startswith(prefix) and key != path and record.id >= begun
                    and record.outcome != "live"]:
            record = self.records.pop(key)
            self.attempts[key] = (record.attempt, record.id, record.attempt)

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

    def outcome(self, key: str, record: StepRecord) -> Any:
        """The recorded result of a step (fetched from the database if this execution recorded
        it); stops the run when it cannot be loaded (see :meth:`load`)."""
        payload = record.result
        if record.lazy and record.outcome in ("ok", "error"):
            with self.journal.begin() as conn:
                payload = self.journal.load_result(conn, record.id)
        return self.load(payload, key)

    def load(self, payload: bytes | None, key: str) -> Any:
        """A recorded outcome; one that cannot be loaded stops the run (no ``except`` may hide it,
        or the task would continue live past a step it cannot replay)."""
        if payload is None:
            return None
        try:
            return self.codec.loads_step(payload, self.run_id, key)
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
        return "" if record is None else f" (`{record.callee}` at {place(record.file, record.line)})"

    async def write(self, values: dict[str, Any], error: BaseException | None = None) -> int:
        """Commit one attempt row (group commit); a lost lease suspends the run (fencing)."""
        if self.check_only:
            raise self.suspend_now(Suspend("pending", "replay check reached a live step"))
        assert self.writer is not None
        values["run_id"] = self.run_id
        values["fence_run"] = self.run_id
        values["fence_epoch"] = self.epoch
        insert_step = self.journal.insert_step
        if self.logs:
            op = step_with_logs(self.journal, values, self.take_logs())
        else:
            op = lambda batch: insert_step(batch, values)  # noqa: E731
        try:
            step_id = await self.writer.write(op)
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
        if values["final"]:
            # Indexed, so that a retried scope replays it (payload fetched then: lazy).
            self.records[values["key"]] = _new_record(StepRecord, (
                step_id, values["kind"], values["callee"], values["file"], values["line"],
                values["outcome"], None, values["args_digest"], values["attempt"], True))
        if self.observer is not None:
            self.observer.step_ended(
                _event(self.run_id, values), values["outcome"] if values["final"] else "retry",
                error, values["finished_at"] - values["started_at"])
        return step_id

    def started(self, key: str, kind: str, site: Site, file: str | None, attempt: int = 1) -> float:
        """The start time of a live attempt (told to the observer, if any; the event is built
        only then: this is on every live step's path)."""
        if self.observer is not None:
            self.observer.step_started(
                StepEvent(self.run_id, key, kind, site_callee(site), file, site[1], attempt))
        return now()


def _event(run_id: str, values: dict[str, Any]) -> StepEvent:
    return StepEvent(run_id, values["key"], values["kind"], values["callee"], values["file"],
                     values["line"], values["attempt"])


def _ordinal(key: str, start: int) -> int:
    """The ordinal of the scope step a key belongs to (``"3"`` for ``"3:1.0"`` at start 0)."""
    end = start
    while end < len(key) and key[end].isdigit():
        end += 1
    return int(key[start:end]) if end > start else -1


def _in_slot(key: str, slot: str) -> bool:
    return key == slot or (key.startswith(slot) and key[len(slot)] in _SLOT_ENDS)


def place(file: str | None, line: int) -> str:
    return f"{file or '<unknown>'}:{line}"

