"""What the commands that load tasks and open a journal share: options and argument parsing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from durablec.errors import UsageError
from durablec.runtime.task import Task, as_task

__all__ = ["db_option", "json_arg", "lint_option", "load_task"]

db_option = click.option(
    "--db", default=None, metavar="URL",
    help="SQLAlchemy URL of the journal (default: $DURABLEC_DATABASE_URL, else ./durablec.db).",
)
lint_option = click.option("--no-lint", is_flag=True, help="Do not refuse code with lint findings.")


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
