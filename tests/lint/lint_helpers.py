"""Helpers shared by the linter tests."""

from __future__ import annotations

import textwrap

from durablec.compiler.diagnostics import Diagnostic
from durablec.compiler.lint import LintConfig, lint_source


def lint(source: str, config: LintConfig | None = None, path: str = "task.py") -> list[Diagnostic]:
    """Lint a dedented snippet with the default configuration unless one is given."""
    return lint_source(textwrap.dedent(source), path, config or LintConfig.default())


def codes(source: str, config: LintConfig | None = None) -> list[tuple[int, str]]:
    """(line, code) of every finding in a dedented snippet."""
    return [(d.line, d.code) for d in lint(source, config)]
