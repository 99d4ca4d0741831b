"""One exception hierarchy for everything durablec raises on purpose.

    DurablecError                  base: the CLI prints its message on one line and exits 2
    ├── CompileError               a source file cannot be compiled (syntax error, foreign ABI)
    ├── FindingsError              compile-on-import refused a module with determinism findings
    ├── ConfigError                bad [tool.durablec] configuration
    └── UsageError                 a command or API called with arguments that cannot work

Each message says what happened, where (path:line:col when there is a place), and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from durablec.compiler.diagnostics import Diagnostic

__all__ = ["CompileError", "ConfigError", "DurablecError", "FindingsError", "UsageError"]


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
            "them, allow one on its line with '# durablec: allow[CODE]', or import with lint=False"
        )


class ConfigError(DurablecError):
    """The project's durablec configuration is invalid."""


class UsageError(DurablecError):
    """An API or command was called in a way that cannot work."""
