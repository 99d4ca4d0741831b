"""DC403 string-set-iteration."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["StringSetIteration"]

_USE = "`sorted(...)` to fix the order"


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

    Use instead: iterate ``sorted(emails)``; ``len()``, ``in``, ``min()``, ``max()`` and
    ``sorted()`` of a set are deterministic and not reported.
    """

    CODE = "DC403"
    NAME = "string-set-iteration"
    MESSAGE = "picks from a set of strings in hash-seed order; replay may pick another item"
    BANNED = {"<strset>.pop": Ban(_USE)}
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
