"""One exception hierarchy for everything durablec raises on purpose.

    DurablecError                  base: the CLI prints its message on one line and exits 2
    ├── CompileError               a source file cannot be compiled (syntax error, foreign ABI)
    ├── FindingsError              compile-on-import refused a module with determinism findings
    ├── ConfigError                bad [tool.durablec] configuration
    ├── UsageError                 a command or API called with arguments that cannot work
    ├── NotCompiledError           a task's module was not compiled, so it cannot run durably
    ├── NonDeterminismError        replay found another step (or other arguments) than recorded,
    │                              or cannot load a recorded outcome (its class is gone)
    ├── SerializationError         a step's result cannot be journaled
    │   └── PayloadTooLargeError   a pickled payload is over DURABLEC_MAX_PAYLOAD
    ├── JournalError               the journal cannot be used (schema too new, tampered payload)
    │   └── TamperedPayloadError   a signed payload failed its HMAC check
    ├── RunNotFoundError           no run with that id in the journal
    ├── RunSuspendedError          a run stopped without finishing (sleep, event, pause, lease)
    ├── RunFailedError             a run ended with an exception; the original is ``__cause__``
    └── RecordedError              stands in for a recorded exception that cannot be unpickled

Each message says what happened, where (path:line:col when there is a place), and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from durablec.compiler.diagnostics import Diagnostic

__all__ = [
    "CompileError",
    "ConfigError",
    "DurablecError",
    "FindingsError",
    "JournalError",
    "NonDeterminismError",
    "NotCompiledError",
    "PayloadTooLargeError",
    "RecordedError",
    "RunFailedError",
    "RunNotFoundError",
    "RunSuspendedError",
    "SerializationError",
    "TamperedPayloadError",
    "UsageError",
]


class DurablecError(Exception):
    """Base of every error durablec raises deliberately."""


class CompileError(DurablecError):
    """A source file cannot be compiled; ``str()`` is ``path:line:col: message``."""

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        super().__init__(f"{path}:{line}:{column}: {message}")


class FindingsError(DurablecError):
    """Compile-on-import refused a module because the linter reported findings in it."""

    def __init__(self, path: str, diagnostics: Sequence[Diagnostic]) -> None:
        self.path = path
        self.diagnostics = tuple(diagnostics)
        listed = "; ".join(map(str, self.diagnostics))
        super().__init__(
            f"{path}: not imported, {len(self.diagnostics)} determinism finding(s): {listed}; fix "
            "them, allow one on its line with '# durablec: allow[CODE]', or import with lint=False "
            "(--no-lint on the command line)"
        )


class ConfigError(DurablecError):
    """The project's durablec configuration is invalid."""


class UsageError(DurablecError):
    """An API or command was called in a way that cannot work."""


class NotCompiledError(DurablecError):
    """A task function's module was not compiled by durablec: its awaits would not be checkpoints."""


class NonDeterminismError(DurablecError):
    """On replay the code took another step, or passed other arguments, than the journal recorded,
    or a recorded outcome can no longer be loaded (a class it needs was renamed or removed).

    The run is left resumable: fix the code (or deploy the version the run started with) and
    resume it.
    """


class SerializationError(DurablecError):
    """A step's outcome cannot be serialized into the journal."""


class PayloadTooLargeError(SerializationError):
    """A pickled payload is larger than ``DURABLEC_MAX_PAYLOAD`` bytes; it was not journaled."""

    def __init__(self, context: str, size: int, limit: int) -> None:
        self.context = context
        self.size = size
        self.limit = limit
        super().__init__(
            f"the payload of {context} is {size} bytes pickled, over the DURABLEC_MAX_PAYLOAD "
            f"limit of {limit} bytes; store large data elsewhere and journal a reference to it "
            "(a path, an object key), or raise DURABLEC_MAX_PAYLOAD"
        )


class JournalError(DurablecError):
    """The journal database cannot be used as it is."""


class TamperedPayloadError(JournalError):
    """A journal payload's signature does not match ``DURABLEC_SECRET``; it was not unpickled."""


class RunNotFoundError(DurablecError):
    """No run with the given id exists in the journal."""


class RunSuspendedError(DurablecError):
    """A run stopped before its end: sleeping, waiting for an event, paused, or lease lost."""

    def __init__(self, run_id: str, status: str, message: str) -> None:
        self.run_id = run_id
        self.status = status
        super().__init__(message)


class RunFailedError(DurablecError):
    """A run ended with an exception (``__cause__`` holds it when it could be restored)."""

    def __init__(self, run_id: str, status: str, message: str) -> None:
        self.run_id = run_id
        self.status = status
        super().__init__(message)


class RecordedError(DurablecError):
    """A recorded exception whose original type could not be pickled or unpickled."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        self.message = message
        super().__init__(f"{type_name}: {message}")

    def __reduce__(self) -> tuple[type[RecordedError], tuple[str, str]]:
        return (RecordedError, (self.type_name, self.message))
