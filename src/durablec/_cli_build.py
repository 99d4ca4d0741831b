"""``durablec build`` and ``durablec diff``.

The compiler itself (and so libcst) is imported only when a file has to be compiled: a no-op
rebuild and ``--help`` stay fast.
"""

from __future__ import annotations

import difflib
import signal
import sys
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

import click

from durablec.compiler.build import DEFAULT_OUT, BuildReport, build as build_tree, decode_source, python_sources
from durablec.errors import CompileError, DurablecError, UsageError
from durablec.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["build", "diff"]

# A progress bar is worth showing only when compiling takes a while.
_PROGRESS_MIN_FILES = 20


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Output directory; each PATH lands at OUT/<its base name>.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming every out-of-date output.")
@click.option("--watch", is_flag=True, help="Build, then rebuild on every change until interrupted.")
@click.option("--no-lint", is_flag=True, help="Compile code that has determinism findings anyway.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Compile in this many processes.  [default: the number of cores]",
)
def build(paths: tuple[str, ...], out: Path, check: bool, watch: bool, no_lint: bool, jobs: int | None) -> None:
    """Compile task files or package trees (PATH...) into OUT.

    Non-Python files of a package are copied; an unchanged tree rebuilds without parsing.
    Exit status: 0 built (or up to date under --check), 1 findings, compile errors or stale
    outputs, 2 usage error.
    """
    if check and watch:
        raise UsageError("--check and --watch cannot be combined; run them separately")
    if watch:
        _watch(list(paths), out, lint=not no_lint, jobs=jobs)
        return
    with _ProgressBar() as progress:
        report = build_tree(paths, out, lint=not no_lint, jobs=jobs, check=check, progress=progress)
    _print_report(report, check=check)
    if not report.ok:
        sys.exit(ExitCode.FINDINGS)


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def diff(path: Path) -> None:
    """Show the unified diff from each source under PATH to its compiled output.

    Coloured on a terminal, plain otherwise. Never lints. Exit status: 0, or 1 when a file
    cannot be compiled (its error is printed and the other files are still shown).
    """
    from durablec.compiler.pipeline import compile_source

    failed = False
    for file in python_sources(path):
        display = str(file)
        try:
            text, _ = decode_source(file.read_bytes())
            code = compile_source(text, display, lint=False).code
        except CompileError as error:
            click.echo(str(error), err=True)
            failed = True
            continue
        except (SyntaxError, UnicodeDecodeError, LookupError) as error:
            click.echo(f"{display}:1:1: cannot decode the source: {error}; save it as UTF-8", err=True)
            failed = True
            continue
        lines = difflib.unified_diff(
            text.splitlines(keepends=True),
            code.splitlines(keepends=True),
            fromfile=display,
            tofile=f"{display} (compiled)",
        )
        for line in lines:
            click.echo(_colour(line if line.endswith("\n") else line + "\n"), nl=False)
    if failed:
        sys.exit(ExitCode.FINDINGS)


def _colour(line: str) -> str:
    """Style one diff line; click strips the styles when stdout is not a terminal."""
    if line.startswith(("+++", "---")):
        return click.style(line, bold=True)
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    return line


def _print_report(report: BuildReport, *, check: bool) -> None:
    """Errors and findings on stderr; under --check the out-of-date outputs on stdout."""
    for error in report.errors:
        click.echo(str(error), err=True)
    for display, findings in report.refused:
        for finding in findings:
            click.echo(str(finding), err=True)
        codes = ", ".join(sorted({finding.code for finding in findings}))
        click.echo(
            f"{display}: not built: {len(findings)} determinism finding(s); fix them, allow one on "
            f"its line with '# durablec: allow[{codes}]', or build with --no-lint",
            err=True,
        )
    if check:
        for stale in report.stale:
            click.echo(str(stale))
        if report.stale:
            click.echo(
                f"{len(report.stale)} output(s) in {report.out} are out of date; run durablec build",
                err=True,
            )
        return
    failed = len(report.errors) + len(report.refused)
    summary = (
        f"{report.out}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed"
    )
    click.echo(summary + (f", {failed} failed" if failed else ""), err=True)


def _watch(paths: list[str], out: Path, *, lint: bool, jobs: int | None) -> None:
    """Build, then rebuild on each change until Ctrl-C or SIGTERM (both exit 0)."""
    from durablec.compiler.watch import watch

    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)

    def on_report(report: BuildReport) -> None:
        _print_report(report, check=False)

    def on_error(error: DurablecError) -> None:
        click.echo(f"error: {error}", err=True)

    def on_ready() -> None:
        click.echo(f"watching {' '.join(paths)} for changes; Ctrl-C to stop", err=True)

    try:
        watch(
            paths, out, lint=lint, jobs=jobs, on_report=on_report, on_error=on_error, stop=stop, on_ready=on_ready
        )
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("stopped watching", err=True)


class _ProgressBar:
    """A rich progress bar on stderr, shown only on a terminal and for builds of many files."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            if total < _PROGRESS_MIN_FILES or not sys.stderr.isatty():
                return
            from rich.console import Console
            from rich.progress import Progress

            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task("compiling", total=total)
            self._progress.start()
        assert self._task is not None  # set together with _progress
        self._progress.update(self._task, completed=done)
