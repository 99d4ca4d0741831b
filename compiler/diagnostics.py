"""Diagnostics are data: the compiler and the linter return them, emitters format them."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Diagnostic", "Edit", "Fix"]


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the source text between two 1-based (line, column) positions with ``content``."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    """A suggested replacement; ``safe`` fixes are applied by ``durablec lint --fix``."""

    message: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding at a source range; lines and columns are 1-based, as editors show them."""

    code: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fix: Fix | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"
