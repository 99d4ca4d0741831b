"""``durablec lint``: the determinism linter over files and package trees.

The linter (and so libcst) is imported only when the command runs, so that every other
``durablec`` command starts without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from durablec.exitcodes import ExitCode

if TYPE_CHECKING:
    from durablec.compiler.diagnostics import Diagnostic
    from durablec.compiler.lint import LintConfig
    from durablec.compiler.lint.emit import Format

__all__ = ["lint"]

# The same tuple as durablec.compiler.lint.emit.FORMATS (a test keeps them equal), written out so
# that building the command does not import the linter.
_FORMATS = ("text", "json", "github", "sarif")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
@click.option(
    "--format", "fmt", type=click.Choice(_FORMATS), default="text", show_default=True, help="Output format."
)
@click.option("--fix", is_flag=True, help="Apply the safe fixes in place, then report what remains.")
@click.option("--diff", is_flag=True, help="Print the changes --fix would make; change nothing.")
@click.option("--statistics", "show_statistics", is_flag=True, help="Print the number of findings per code.")
def lint(paths: tuple[str, ...], fmt: Format, fix: bool, diff: bool, show_statistics: bool) -> None:
    """Report code that would make a replayed task diverge, in files or package trees (PATH...).

    Configuration comes from [tool.durablec] in the nearest pyproject.toml; suppress a finding
    with '# durablec: allow[CODE]' on its line. Exit status: 0 clean, 1 findings (with --diff:
    changes to show), 2 usage or syntax error.
    """
    from durablec.compiler.build import decode_source
    from durablec.compiler.lint import lint_source, load_config
    from durablec.compiler.lint.emit import emit, statistics
    from durablec.compiler.lint.fix import apply_fixes, unified_diff
    from durablec.errors import CompileError

    configs: dict[str, LintConfig] = {}
    findings: list[Diagnostic] = []
    errors = 0
    changed = 0
    for file in _files(paths):
        display = str(file)
        directory = os.path.dirname(os.path.abspath(file))
        if directory not in configs:
            configs[directory] = load_config(directory)
        config = configs[directory]
        try:
            source, encoding = decode_source(file.read_bytes())
            diagnostics = lint_source(source, display, config)
        except CompileError as error:
            click.echo(str(error), err=True)
            errors += 1
            continue
        except (OSError, UnicodeDecodeError, LookupError, SyntaxError) as error:
            click.echo(f"{display}:1:1: cannot read: {error}; save it as UTF-8 or fix its coding line", err=True)
            errors += 1
            continue
        if fix or diff:
            fixed = apply_fixes(source, diagnostics)
            if fixed != source:
                changed += 1
                if diff:
                    click.echo(unified_diff(display, source, fixed), nl=False)
                    continue
                file.write_bytes(fixed.encode(encoding))
                diagnostics = lint_source(fixed, display, config)
            elif diff:
                continue
        findings.extend(diagnostics)
    if fix and changed:
        click.echo(f"fixed {changed} file{'s' * (changed != 1)}", err=True)
    if not diff:
        output = statistics(findings) if show_statistics else emit(fmt, findings)
        click.echo(output, nl=False)
    if errors:
        sys.exit(ExitCode.USAGE)
    if findings or (diff and changed):
        sys.exit(ExitCode.FINDINGS)


def _files(paths: tuple[str, ...]) -> list[Path]:
    from durablec.compiler.build import python_sources

    seen: set[Path] = set()
    files = []
    for path in paths:
        for file in python_sources(Path(path)):
            if file not in seen:
                seen.add(file)
                files.append(file)
    return files
