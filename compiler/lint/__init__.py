"""The determinism linter (SPEC 4): finds code that would make a replayed task diverge.

The compiler parses each file once and hands the tree to both the linter and the transformer::

    module = libcst.parse_module(source)
    findings = lint_module(module, path, load_config(path), source=source)

``lint_module`` never mutates the tree. Rules live in ``durablec.compiler.lint.rules``, one class
per module; output formats in ``durablec.compiler.lint.emit``; fixes in
``durablec.compiler.lint.fix``.
"""

from __future__ import annotations

import ast

import libcst as cst

from durablec.compiler.diagnostics import Diagnostic
from durablec.compiler.lint._config import BannedName, LintConfig, load_config
from durablec.compiler.lint._dispatch import Walker
from durablec.compiler.lint._engine import lint_tree
from durablec.compiler.lint._positions import Positions
from durablec.compiler.lint._rule import Ban, Rule
from durablec.compiler.lint._ruleset import ruleset
from durablec.compiler.lint.rules import ALL_RULES, RULES_BY_CODE
from durablec.compiler.lint.rules.completion_order import COMPLETION_CALLS, replayable
from durablec.errors import CompileError

__all__ = [
    "ALL_RULES",
    "RULES_BY_CODE",
    "Ban",
    "BannedName",
    "LintConfig",
    "Rule",
    "completion_calls",
    "lint_module",
    "lint_source",
    "load_config",
    "parse",
]


def lint_module(
    module: cst.Module, path: str, config: LintConfig, *, source: str | None = None
) -> list[Diagnostic]:
    """The findings in one parsed module, sorted by position.

    ``path`` names the file in findings and selects per-file ignores. ``source`` is the text the
    module was parsed from; without it the text is regenerated from the tree (one code
    generation pass) to read suppression comments.
    """
    return lint_tree(module, path, config.for_path(path), source)


def lint_source(source: str, path: str, config: LintConfig) -> list[Diagnostic]:
    """Parse and lint one module's text; raise CompileError (path:line:col) on a syntax error."""
    return lint_module(parse(source, path), path, config, source=source)


def completion_calls(module: cst.Module) -> dict[int, tuple[str, int, int]]:
    """The completion-order calls of a module that the runtime replays, for the compiler to hand
    to the ABI's ``race`` entry: ``id`` of each ``cst.Call`` -> ``(callee text, line, column)``,
    both 1-based. Resolved like the linter resolves names (imports, aliases, shadowing), and
    chosen by the predicate DC303 reports the others with, so the two always agree."""
    walker = Walker(ruleset(frozenset({"DC303"}), ()), watch=COMPLETION_CALLS)
    walker.run(module)
    calls = [(node, callee) for node, callee, awaited in walker.watched if replayable(callee, node, awaited)]
    if not calls:
        return {}
    positions = Positions(module, [node for node, _ in calls])
    found: dict[int, tuple[str, int, int]] = {}
    for node, callee in calls:
        line, column = positions.starts[id(node)]
        found[id(node)] = (ast.unparse(ast.parse(module.code_for_node(node.func), mode="eval")), line, column + 1)
    return found


def parse(source: str, path: str) -> cst.Module:
    """Parse a module with LibCST, turning a syntax error into a CompileError at its place."""
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        line, column, message = exc.editor_line, exc.editor_column, exc.message
    # CPython places most syntax errors more precisely than LibCST, and says it more plainly.
    try:
        ast.parse(source, path)
    except SyntaxError as exc:
        line, column, message = exc.lineno or line, exc.offset or column, exc.msg
    raise CompileError(path, line, column, f"syntax error: {message}; fix it and lint again")
