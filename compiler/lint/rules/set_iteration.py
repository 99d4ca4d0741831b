"""DC403 string-set-iteration."""

from __future__ import annotations

import libcst as cst

from durablec.compiler.lint._names import STRSET
from durablec.compiler.lint._rule import Ban, CallSite, IterationSite, Rule, Scope
from durablec.compiler.lint._syntax import dotted

__all__ = ["StringSetIteration"]

_USE = "`sorted(...)` to fix the order"
# `sorted(s).pop()` would be deterministic but leave the item in the set.
_USE_POP = "`item = min(s)` and `s.remove(item)` to take the same item every time"
# Builtins whose result depends on the order of the iterable passed to them.
_ORDERED_CONSUMERS = frozenset(
    f"builtins.{n}" for n in ("list", "tuple", "enumerate", "iter", "zip", "map", "filter", "dict")
)
# Builtins whose result does not, so a generator over a set passed to them is fine.
_UNORDERED_CONSUMERS = frozenset(
    f"builtins.{n}" for n in ("sorted", "set", "frozenset", "sum", "min", "max", "any", "all", "len")
)


class StringSetIteration(Rule):
    """What it does: finds iteration over a set of strings: ``for`` loops, comprehensions,
    ``list()``, ``tuple()``, ``enumerate()``, ``zip()``, ``map()``, ``filter()``, ``iter()``,
    ``str.join()``, unpacking with ``*`` and ``set.pop()``. A set counts as one of strings when the
    linter can see it: a literal with a string in it, ``set()``/``frozenset()`` of strings or of
    ``str.split()``, a set operation on such a set, or a parameter or variable annotated
    ``set[str]``/``frozenset[str]``.

    Why it breaks replay: strings hash differently in every process (``PYTHONHASHSEED``), so a
    set of strings is iterated in another order after a restart: steps run in another order and
    replay reports a non-determinism error, or worse, pairs recorded results with other items.

    Example::

        async def notify(emails: set[str]):
            for email in emails:
                await send(email)

    Use instead: iterate ``sorted(emails)``, and take an item with ``item = min(emails)`` and
    ``emails.remove(item)`` rather than ``emails.pop()``; ``len()``, ``in``, ``min()``, ``max()``
    and ``sorted()`` of a set are deterministic and not reported.
    """

    CODE = "DC403"
    NAME = "string-set-iteration"
    MESSAGE = "picks from a set of strings in hash-seed order; replay may pick another item"
    BANNED = {"<strset>.pop": Ban(_USE_POP)}
    VALID = (
        """
        async def task(emails: set[str], ids: set[int]):
            for email in sorted(emails):
                await send(email)
            for i in ids:
                await send(i)
            return len(emails), "a" in {"a", "b"}, max({"x", "y"})
        """,
    )
    INVALID = (
        """
        async def task(emails: set[str]):
            for email in emails:  # <-
                await send(email)
        """,
        """
        async def task(text):
            words = set(text.split())
            first = words.pop()  # <-
            return [w.upper() for w in words | {"x"}], ",".join({"a", "b"})  # <-
        """,
    )

    @classmethod
    def visit_iteration(cls, site: IterationSite, scope: Scope) -> None:
        if site.kind == STRSET and site.consumer not in _UNORDERED_CONSUMERS:
            cls._report(site.node, scope)

    @classmethod
    def visit_call(cls, site: CallSite, scope: Scope) -> None:
        """Calls that iterate their arguments in order: ``list(s)``, ``map(f, s)``, ``sep.join(s)``."""
        callee, args = site.callee, site.node.args
        if callee in _ORDERED_CONSUMERS:
            # map() and filter() iterate all but their first argument, a function.
            for arg in args[1:] if callee in ("builtins.map", "builtins.filter") else args:
                if not arg.keyword and not arg.star and scope.resolve(arg.value) == STRSET:
                    cls._report(arg.value, scope)
        elif callee.endswith(".join") and len(args) == 1 and scope.resolve(args[0].value) == STRSET:
            cls._report(args[0].value, scope)

    @classmethod
    def _report(cls, node: cst.BaseExpression, scope: Scope) -> None:
        shown = dotted(node) or ("{...}" if isinstance(node, (cst.Set, cst.SetComp)) else "set(...)")
        scope.report(
            cls.CODE,
            node,
            f"`{shown}` is a set of strings, iterated in hash-seed order; replay may take another order. Use {_USE}",
        )
