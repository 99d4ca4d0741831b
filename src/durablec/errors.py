"""One exception hierarchy for everything durablec raises on purpose.

    DurablecError                  base: the CLI prints its message on one line and exits 2
    ├── CompileError               a source file cannot be compiled (syntax error, foreign ABI)
    ├── ConfigError                bad [tool.durablec] configuration
    └── UsageError                 a command or API called with arguments that cannot work

Each message says what happened, where (path:line:col when there is a place), and what to do.
"""

from __future__ import annotations

__all__ = ["CompileError", "ConfigError", "DurablecError", "UsageError"]


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


class ConfigError(DurablecError):
    """The project's durablec configuration is invalid."""


class UsageError(DurablecError):
    """An API or command was called in a way that cannot work."""
