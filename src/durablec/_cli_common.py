"""What the commands that load tasks and open a journal share: options and argument parsing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any

import click

from durablec.errors import UsageError
from durablec.runtime.task import Task, as_task

__all__ = ["configure_logging", "db_option", "json_arg", "lint_option", "load_task",
           "log_level_option"]

db_option = click.option(
    "--db", default=None, metavar="URL",
    help="SQLAlchemy URL of the journal (default: $DURABLEC_DATABASE_URL, else ./durablec.db).",
)
lint_option = click.option("--no-lint", is_flag=True, help="Do not refuse code with lint findings.")

log_level_option = click.option(
    "--log-level", default=lambda: os.environ.get("DURABLEC_LOG_LEVEL", "WARNING"),
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    show_default="WARNING, or DURABLEC_LOG_LEVEL",
    help="The lowest level of the tasks' log records written to stderr (records from INFO up "
         "are kept with their runs either way), unless the task modules configure logging.")


def configure_logging(level: str) -> None:
    """Keep the tasks' records from INFO up with their runs and write those from ``level`` up
    to stderr, unless the task modules (imported before) configured logging: then theirs
    stands (runtime/logs.py keeps what passes their loggers' levels)."""
    root = logging.getLogger()
    if root.handlers:
        return
    shown = logging.getLevelName(level.upper())
    assert isinstance(shown, int)
    stderr = logging.StreamHandler()
    stderr.setLevel(shown)
    stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(stderr)
    root.setLevel(min(shown, logging.INFO))


def load_task(target: str, lint: bool) -> Task[Any, Any]:
    """The task ``module:name`` names, loaded through the compiler's import hook (refused on
    lint findings when ``lint``); a plain ``async def`` becomes a task."""
    from durablec.compiler.importhook import load_target

    found = load_target(target, lint=lint)
    if isinstance(found, Task):
        return found
    if callable(found) and asyncio.iscoroutinefunction(found):
        return as_task(found)
    raise UsageError(
        f"target {target!r} is a {type(found).__name__}, not an async function or a "
        "@durablec.task; name the `async def` (or task) to run"
    )


def json_arg(text: str | None, kind: type, option: str) -> Any:
    """The JSON array (``kind`` list) or object (dict) of an option; empty when not given."""
    if text is None:
        return kind()
    shape, example = ("array", "'[21, \"eu\"]'") if kind is list else ("object", "'{\"n\": 2}'")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{option} {text!r}: not valid JSON ({exc.msg} at column {exc.colno}); pass a JSON "
            f"{shape}, quoted for the shell, e.g. {option} {example}"
        ) from None
    if not isinstance(value, kind):
        raise UsageError(
            f"{option} takes a JSON {shape}, not {text!r}; e.g. {option} {example}"
        )
    return value
