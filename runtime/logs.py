"""Task logs: what a run's code writes with ``logging`` (and ``print``, when captured) is kept
with the run in the journal, and a replay neither writes it out again nor stores it twice.

A record belongs to a run when it is written on the run's context (``abi.active_scope``): the
task body, its helpers, and the libraries they call. Its *position* is the key of the step the
code was heading for (``scope.peek_key()``), which is the step in progress for a record written
inside one. If the journal holds that step or a later one of the scope, the code that wrote the
record ran before and its rows were committed with that step: the record is a replay's and is
dropped, before any handler sees it. Otherwise it is kept on the run's context and committed with the run's next write (a
step row, or the run's end), so a crash before that write loses the rows together with the step
they led to, and the resumed run writes them again, once.

``capture()`` installs this for the process (the runtime calls it at each execution's start):
a handler on the root logger that keeps the records, and a filter on every root handler, present
and added later, that drops replayed records. Records below a logger's effective level never
reach them: configure levels as usual (``logging.basicConfig(level=logging.INFO)``).
``DURABLEC_CAPTURE_PRINT=1`` keeps ``print`` output written on a run's context too, as records
of the logger ``print`` at level INFO (written out as well, except on replay).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Final, TextIO, cast

from durablec.runtime.abi import active_scope
from durablec.runtime.clock import now
from durablec.runtime.context import BODY_KEY
from durablec.runtime.engine import RunScope

__all__ = ["capture"]

_PRINT_LOGGER: Final = "print"


def _position() -> tuple[RunScope, str] | None:
    """The scope writing now and the key of the step it heads for; None outside a run (or in a
    replay check, which keeps nothing)."""
    scope = active_scope.get()
    if not isinstance(scope, RunScope) or scope.run.check_only:
        return None
    return scope, scope.peek_key()


def _live(scope: RunScope, key: str) -> bool:
    """Whether what the code writes now is new, not a replay's: called once per record, as it
    consumes what an earlier execution committed at this place."""
    if _ahead(scope):
        return False
    run = scope.run
    if run.logged:
        # A suspension (or a crash after a commit) committed records past the last step; the
        # resumed code writes them again, as many, in the same attempt.
        place = (_attempt(scope), key)
        left = run.logged.get(place, 0)
        if left:
            run.logged[place] = left - 1
            return False
    return True


def _ahead(scope: RunScope) -> bool:
    """Whether the journal holds a step of this scope at or past the one the code heads for
    (or one nested under such a step): then the code writing now ran before, up to there, and
    its records were committed. Live resource entries do not count: a retried attempt keeps
    them while it runs its code again."""
    prefix = f"{scope.path}." if scope.path else ""
    start = len(prefix)
    heading = scope.counter
    for key, record in scope.run.records.items():
        if record.outcome == "live" or not key.startswith(prefix):
            continue
        end = start
        while end < len(key) and key[end].isdigit():
            end += 1
        if end > start and int(key[start:end]) >= heading:
            return True
    return False


def _attempt(scope: RunScope) -> int:
    """Which attempt of the code around the record this is: 1, plus the failed attempts the
    journal holds of the task body and of each enclosing helper step (each such retry runs the
    scope's code again, and its records are new)."""
    attempts = scope.run.attempts
    path = scope.path
    failed = attempts.get(BODY_KEY, (0, 0, 0))[0]
    if path:
        parts = path.split(".")
        for depth in range(1, len(parts) + 1):
            failed += attempts.get(".".join(parts[:depth]), (0, 0, 0))[0]
    return failed + 1


def _row(scope: RunScope, key: str, at: float, level: int, logger: str, message: str,
         file: str | None, line: int | None) -> dict[str, Any]:
    run = scope.run
    return {"run_id": run.run_id, "position": key, "attempt": _attempt(scope), "at": at,
            "level": level, "logger": logger, "message": message, "file": file, "line": line}


_DECIDED: Final = "durablec_live"
"""The attribute a record carries once decided, so the filter on each handler agrees."""


def _decide(record: logging.LogRecord) -> tuple[RunScope, str] | None:
    """The run scope and position of a new record of a run; None for a record outside any run
    or a replay's."""
    decided: tuple[RunScope, str] | None | bool = record.__dict__.get(_DECIDED, False)
    if decided is not False:
        return decided if isinstance(decided, tuple) else None
    found = _position()
    if found is not None and not _live(*found):
        record.__dict__[_DECIDED] = True
        return None
    record.__dict__[_DECIDED] = found
    return found


class _SkipReplayed(logging.Filter):
    """Drops a record that a replay writes again."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _decide(record) is not None or _position() is None


class _KeepWithRun(logging.Handler):
    """Keeps a run's new records on its context, for its next write to commit."""

    def emit(self, record: logging.LogRecord) -> None:
        found = _decide(record)
        if found is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # noqa: BLE001 - a bad format string must not break the run
            self.handleError(record)
            return
        scope, key = found
        scope.run.logs.append(_row(scope, key, record.created, record.levelno, record.name,
                                   message, record.pathname, record.lineno))


_FILTER: Final = _SkipReplayed()
_HANDLER: Final = _KeepWithRun()


def capture() -> None:
    """Keep the records of runs executing in this process with their runs (idempotent)."""
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)
    # Handlers configured after the last execution began get the filter too.
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if os.environ.get("DURABLEC_CAPTURE_PRINT") == "1" and not isinstance(sys.stdout, _Printed):
        sys.stdout = cast(TextIO, _Printed(sys.stdout))


class _Printed:
    """``sys.stdout`` that turns each line printed on a run's context into a record of the
    ``print`` logger (kept with the run) and writes it out unless a replay prints it again;
    everything else is the wrapped stream's."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.partial: dict[str, str] = {}

    def write(self, text: str) -> int:
        found = _position()
        if found is None:
            return self.out.write(text)
        scope, key = found
        run = scope.run
        *lines, rest = (self.partial.pop(run.run_id, "") + text).split("\n")
        if rest:
            self.partial[run.run_id] = rest
        shown = [line for line in lines if _live(scope, key)]
        run.logs.extend(_row(scope, key, now(), logging.INFO, _PRINT_LOGGER, line, None, None)
                        for line in shown)
        if len(shown) == len(lines):
            return self.out.write(text)
        self.out.write("".join(line + "\n" for line in shown))
        return len(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self.out, name)
