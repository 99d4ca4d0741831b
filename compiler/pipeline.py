"""compile_source: one source text in, compiled text and diagnostics out. No I/O, no printing."""

from __future__ import annotations

from dataclasses import dataclass, field

from durablec.compiler.diagnostics import Diagnostic

__all__ = ["CompileResult", "compile_source"]


@dataclass(frozen=True, slots=True)
class CompileResult:
    """The compiled text of one module.

    ``code`` is the output (identical to the input when nothing needed rewriting);
    ``diagnostics`` holds lint findings (empty when linting was off).
    """

    code: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())


def compile_source(source: str, path: str, *, lint: bool = True) -> CompileResult:
    """Compile one module's source. ``path`` is used only in messages, never in the output.

    Raises CompileError (with path:line:col) when the source is not valid Python.
    """
    # Placeholder until the transformer lands: identity.
    return CompileResult(code=source)
