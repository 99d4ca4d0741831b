"""DC001 unknown-suppression-code."""

from __future__ import annotations

from durablec.compiler.lint._rule import Rule, SuppressionSite

__all__ = ["UnknownSuppressionCode"]


class UnknownSuppressionCode(Rule):
    """What it does: finds ``# durablec: allow[...]`` comments that name a code no rule has.

    Why it breaks replay: it does not by itself; but a mistyped code (``DC10l``) suppresses
    nothing, so the finding it was meant to allow either still fails the build or, after a
    rule is renamed, a real problem is silently waved through by a stale comment.

    Example::

        now = time.time()  # durablec: allow[DC1O1]

    Use instead: the exact code from the finding (``# durablec: allow[DC101]``); separate
    several codes with commas.
    """

    CODE = "DC001"
    NAME = "unknown-suppression-code"
    MESSAGE = "names no known rule, so it suppresses nothing"
    VALID = (
        """
        import time


        async def task():
            return time.time()  # durablec: allow[DC101, DC102]
        """,
    )
    INVALID = (
        """
        async def task():
            return 1  # durablec: allow[DC999]  # <-
        """,
    )

    @classmethod
    def visit_suppression(cls, site: SuppressionSite) -> str | None:
        if site.code in site.known:
            return None
        return f"`{site.code or '(empty)'}` in `{site.comment}` {cls.MESSAGE}. Use the code of the finding"
