"""Applying safe fixes to source text, and showing them as a diff."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from durablec.compiler.diagnostics import Diagnostic, Edit

__all__ = ["apply_fixes", "unified_diff"]


def apply_fixes(source: str, diagnostics: Iterable[Diagnostic]) -> str:
    """``source`` with every safe fix applied. A fix whose edits overlap an already accepted
    edit is left out whole (its finding stays); identical edits shared by several fixes (the one
    ``import durablec``) are applied once."""
    starts = _line_starts(source)
    accepted: dict[tuple[int, int], Edit] = {}
    for diagnostic in sorted(diagnostics, key=lambda d: (d.line, d.column)):
        fix = diagnostic.fix
        if fix is None or not fix.safe:
            continue
        spans = [
            (_offset(starts, len(source), e.line, e.column), _offset(starts, len(source), e.end_line, e.end_column), e)
            for e in fix.edits
        ]
        if all(_compatible(start, end, edit, accepted) for start, end, edit in spans):
            for start, end, edit in spans:
                accepted[(start, end)] = edit
    result = source
    for (start, end), edit in sorted(accepted.items(), reverse=True):
        result = result[:start] + edit.content + result[end:]
    return result


def unified_diff(path: str, before: str, after: str) -> str:
    """The change from ``before`` to ``after`` as a unified diff naming ``path``."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _compatible(start: int, end: int, edit: Edit, accepted: dict[tuple[int, int], Edit]) -> bool:
    for (other_start, other_end), other in accepted.items():
        if (other_start, other_end) == (start, end):
            if other != edit:
                return False
        elif start < other_end and other_start < end:
            return False
        elif start == end == other_start or other_start == other_end == start:
            return False  # two different insertions at one point: their order would be a guess
    return True


def _line_starts(source: str) -> list[int]:
    starts = [0]
    index = source.find("\n")
    while index != -1:
        starts.append(index + 1)
        index = source.find("\n", index + 1)
    return starts


def _offset(starts: list[int], length: int, line: int, column: int) -> int:
    """1-based (line, column) to an index into the text; a place past the end is the end."""
    if line > len(starts):
        return length
    return min(starts[line - 1] + column - 1, length)
