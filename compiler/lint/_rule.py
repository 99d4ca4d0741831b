"""The shape of a lint rule: a self-describing class that the engine reads and the docs render.

Most rules are declarative: they list the qualified names they ban (``BANNED``) and the engine
finds every use of those names through the module's imports and aliases. Names in angle brackets
stand for values the engine recognises by where they came from rather than by import:
``<loop>`` (an event loop from ``asyncio.get_running_loop()``), ``<taskgroup>`` (an
``asyncio.TaskGroup`` not entered with ``async with`` in this function; one that is, is
``<entered-taskgroup>``), ``<path>`` (a ``pathlib.Path``) and ``<strset>`` (a set of strings).

A rule that needs more than a list of names overrides a hook (Fixit's ``visit_*`` methods are
the model). The engine calls a hook only on the rules that override it, with the site already
resolved, and only in linted code (async functions and what they call)::

    visit_call(CallSite, Scope)              every call whose callee resolves to a name
    visit_iteration(IterationSite, Scope)    every place a value is iterated in order
    visit_suppression(SuppressionSite)       every code named in a suppression comment
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

import libcst as cst

__all__ = [
    "Ban",
    "CallSite",
    "IterationSite",
    "Rule",
    "Scope",
    "SuppressionSite",
    "display_name",
]


@dataclass(frozen=True, slots=True)
class Ban:
    """One banned name: what to use instead, and when a call to it is still deterministic."""

    replacement: str
    """The durable alternative, shown after "Use" in the message (Markdown code allowed)."""

    min_args: int = 0
    """A call with at least this many arguments (not counting a literal ``None``) is fine:
    ``time.localtime(ts)`` and ``random.Random(42)`` are deterministic. Names with a non-zero
    ``min_args`` are only judged when called, never as bare references."""

    calls: bool = True
    """False: calls of this name are judged by the rule's ``visit_call`` hook alone (DC301 reports
    ``asyncio.create_task()`` only when its task is dropped); the table still reports bare
    references (``spawn = asyncio.create_task``), behind which the linter cannot see the call."""

    fix: str | None = None
    """The safe replacement of a call without arguments inside an ``async def``, an expression
    of the same type with ``{durablec}`` standing for the module's name for ``durablec``:
    ``time.time()`` becomes ``(await durablec.now()).timestamp()``, a float like before."""


class Scope(Protocol):
    """What a hook may ask of the engine about the function being linted."""

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The qualified name or ``<kind>`` an expression stands for here, or None."""
        ...

    def report(self, code: str, node: cst.CSTNode, message: str) -> None:
        """A finding of ``code`` at ``node``; kept if the function turns out to be in scope
        and no suppression comment allows it."""
        ...


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call whose callee resolves to a qualified name or a ``<kind>`` method."""

    node: cst.Call
    callee: str
    """``builtins.list``, ``os.sep.join``, ``<strset>.union``."""
    awaited: bool
    """The call is the awaited expression itself, so it is a checkpoint."""
    discarded: bool
    """The call is a whole expression statement: its result is dropped."""


@dataclass(frozen=True, slots=True)
class IterationSite:
    """A value iterated in an order the program can observe: a ``for`` statement, a
    comprehension's ``for`` clause, ``*`` unpacking."""

    node: cst.BaseExpression
    """The iterated expression."""
    kind: str | None
    """What ``node`` resolves to (``<strset>``, a qualified name), or None."""
    consumer: str | None
    """For a comprehension's ``for`` clause, what its values go to: the resolved callee a
    generator expression is passed to first (``builtins.sorted`` in ``sorted(x for x in s)``),
    ``builtins.set`` for a set comprehension; else None."""


@dataclass(frozen=True, slots=True)
class SuppressionSite:
    """One code in a ``# durablec: allow[...]`` comment (anywhere in the module)."""

    code: str
    comment: str
    """The whole ``# durablec: allow[...]`` text the code was read from."""
    known: frozenset[str]
    """Every code a suppression may name under the configuration in force."""


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

    @classmethod
    def visit_call(cls, site: CallSite, scope: Scope) -> None:
        """Check a call beyond ``BANNED``; report through ``scope``."""

    @classmethod
    def visit_iteration(cls, site: IterationSite, scope: Scope) -> None:
        """Check an iteration; report through ``scope``."""

    @classmethod
    def visit_suppression(cls, site: SuppressionSite) -> str | None:
        """The message of a finding at a suppression's comment, or None for no finding."""
        return None


def display_name(qualname: str) -> str:
    """How a banned name is written in messages and docs: ``<loop>.time`` -> ``loop.time``."""
    if qualname.startswith("builtins."):
        return qualname[len("builtins.") :]
    if qualname.startswith("<"):
        return qualname[1:].replace(">", "", 1)
    return qualname
