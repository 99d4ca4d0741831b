"""The shape of a lint rule: a self-describing class that the engine reads and the docs render.

Most rules are declarative: they list the qualified names they ban (``BANNED``) and the engine
finds every use of those names through the module's imports and aliases. Names in angle brackets
stand for values the engine recognises by where they came from rather than by import:
``<loop>`` (an event loop from ``asyncio.get_running_loop()``), ``<taskgroup>`` (an
``asyncio.TaskGroup``), ``<path>`` (a ``pathlib.Path``) and ``<strset>`` (a set of strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

__all__ = ["Ban", "Rule", "display_name"]


@dataclass(frozen=True, slots=True)
class Ban:
    """One banned name: what to use instead, and when a call to it is still deterministic."""

    replacement: str
    """The durable alternative, shown after "Use" in the message (Markdown code allowed)."""

    min_args: int = 0
    """A call with at least this many arguments (not counting a literal ``None``) is fine:
    ``time.localtime(ts)`` and ``random.Random(42)`` are deterministic. Names with a non-zero
    ``min_args`` are only judged when called, never as bare references."""

    fix: str | None = None
    """The safe replacement of a call without arguments inside an ``async def``, an expression
    of the same type with ``{durablec}`` standing for the module's name for ``durablec``:
    ``time.time()`` becomes ``(await durablec.now()).timestamp()``, a float like before."""


class Rule:
    """Base of every lint rule. Subclasses set the class attributes below and a docstring with
    the sections *What it does*, *Why it breaks replay*, *Example* and *Use instead*."""

    CODE: ClassVar[str]
    NAME: ClassVar[str]
    """Reads after "allow ...": ``wall-clock-call``."""
    MESSAGE: ClassVar[str]
    """Follows the construct in backticks: "`time.time()` reads the wall clock; ..."."""
    BANNED: ClassVar[Mapping[str, Ban]] = {}
    CHECKPOINT_EXEMPT: ClassVar[bool] = True
    """A call that is itself the awaited expression is a checkpoint whose outcome is journaled,
    so it is not a finding, unless the rule says the outcome itself cannot be replayed."""
    VALID: ClassVar[tuple[str, ...]]
    """Modules on which the linter reports nothing at all."""
    INVALID: ClassVar[tuple[str, ...]]
    """Modules with a finding of this rule on exactly the lines that end with ``# <-``."""
    EXAMPLE_CONFIG: ClassVar[Mapping[str, object]] = {}
    """The ``[tool.durablec]`` table the examples are linted with (for configurable rules)."""


def display_name(qualname: str) -> str:
    """How a banned name is written in messages and docs: ``<loop>.time`` -> ``loop.time``."""
    if qualname.startswith("builtins."):
        return qualname[len("builtins.") :]
    if qualname.startswith("<"):
        return qualname[1:].replace(">", "", 1)
    return qualname
