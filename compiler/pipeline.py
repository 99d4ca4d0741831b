"""compile_source: one source text in, compiled text and diagnostics out. No I/O, no printing.

Each file is parsed once by LibCST (shared by the linter and the transformer) and once by CPython's
``ast`` (authoritative syntax errors, and cheap positions for the transformer).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from durablec.compiler.diagnostics import Diagnostic
from durablec.errors import CompileError

if TYPE_CHECKING:
    from durablec.compiler.lint import LintConfig

__all__ = ["CompileResult", "compile_source", "needs_compiling"]

# Only a module that spells one of these names can call asyncio.wait or asyncio.as_completed
# (through any alias, the imported name is spelled somewhere); the others skip resolving them.
_COMPLETION_WORDS = re.compile(r"\b(?:as_completed|wait)\b")


@dataclass(frozen=True, slots=True)
class CompileResult:
    """The compiled text of one module.

    ``code`` is the output (the input itself when nothing needed rewriting); ``diagnostics``
    holds lint findings (empty when linting was off).
    """

    code: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())


def needs_compiling(source: str) -> bool:
    """False for modules that cannot contain a checkpoint: they are copied without parsing."""
    return "async" in source or "await" in source


def compile_source(
    source: str, path: str, *, lint: bool = True, lint_config: LintConfig | None = None
) -> CompileResult:
    """Compile one module's source. ``path`` is used only in messages and to pick per-file lint
    settings, never in the output. ``lint_config`` defaults to every rule (callers that read a
    project's ``[tool.durablec]`` pass ``load_config(path)``).

    Raises CompileError (``path:line:col: message``) when the source is not valid Python.
    """
    if not needs_compiling(source):
        return CompileResult(code=source)
    tree = _parse_ast(source, path)
    from durablec.compiler.transform import is_compiled, transform

    if is_compiled(tree):  # before the costly LibCST parse: compiling compiled output is a no-op
        return CompileResult(code=source)
    import libcst as cst

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        raise CompileError(
            path, error.raw_line, error.raw_column + 1,
            f"LibCST cannot parse this module ({error.message}); please report it",
        ) from error
    diagnostics: tuple[Diagnostic, ...] = ()
    if lint:
        from durablec.compiler.lint import LintConfig, lint_module

        config = lint_config if lint_config is not None else LintConfig.default()
        diagnostics = tuple(lint_module(module, path, config, source=source))
    races = {}
    if _COMPLETION_WORDS.search(source):
        from durablec.compiler.lint import completion_calls

        races = completion_calls(module)
    try:
        rewritten = transform(module, tree, source, races)
    except Exception as error:  # a compiler bug must still name the file
        raise CompileError(path, 1, 1, f"{error}; please report it with this file") from error
    return CompileResult(code=source if rewritten is None else rewritten.code, diagnostics=diagnostics)


def _parse_ast(source: str, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except SyntaxError as error:
        text = (error.text or "").strip()
        shown = f" in `{text}`" if text and len(text) <= 120 else ""
        raise CompileError(
            path, error.lineno or 1, error.offset or 1,
            f"syntax error: {error.msg}{shown}; fix it, then run the command again",
        ) from error

