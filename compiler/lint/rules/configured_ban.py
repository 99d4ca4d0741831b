"""DC901 configured-banned-name."""

from __future__ import annotations

from durablec.compiler.lint._rule import Rule

__all__ = ["ConfiguredBannedName"]


class ConfiguredBannedName(Rule):
    """What it does: finds uses of the names a project bans in ``[tool.durablec]
    extend-banned`` (its own clocks, id generators, clients), through imports and aliases like
    every built-in rule. Each entry gives its message and its replacement, and may file its
    findings under another code (``code = "DC101"``) so they are selected, ignored and allowed
    with that rule.

    Why it breaks replay: the project knows which of its own functions read clocks, randomness or
    the outside world; if task code calls them directly, replay sees other values, for the same
    reasons as the built-in rules.

    Example::

        [tool.durablec.extend-banned."acme.clock.utcnow"]
        message = "reads the wall clock"
        replacement = "`await durablec.now()`"

    Use instead: the replacement named by the entry.
    """

    CODE = "DC901"
    NAME = "configured-banned-name"
    MESSAGE = "is banned by this project's [tool.durablec] extend-banned"
    VALID = (
        """
        from acme import clock


        async def task(clock2):
            return clock2.utcnow(), clock.parse("2024-01-01")
        """,
    )
    INVALID = (
        """
        from acme.clock import utcnow as now


        async def task():
            return now()  # <-
        """,
    )
    EXAMPLE_CONFIG = {
        "extend-banned": {
            "acme.clock.utcnow": {
                "message": "reads the wall clock",
                "replacement": "`await durablec.now()`",
            }
        }
    }
