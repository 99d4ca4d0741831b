"""DC303 completion-order-wait."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["CompletionOrderWait"]

_USE = "`await asyncio.gather(...)`, which returns results in argument order"


class CompletionOrderWait(Rule):
    """What it does: finds ``asyncio.wait()`` and ``asyncio.as_completed()``, awaited or not.

    Why it breaks replay: both hand back work in the order it happened to finish. The task's
    later steps follow that order, which differs from run to run; and their results are sets and
    iterators of live tasks that no journal can record, so even an awaited ``asyncio.wait`` is
    reported.

    Example::

        async def first_quote(providers):
            done, pending = await asyncio.wait(
                [asyncio.create_task(p.quote()) for p in providers],
                return_when=asyncio.FIRST_COMPLETED,
            )

    Use instead: ``await asyncio.gather(...)`` and choose among all results deterministically
    (``min(quotes)``), or race inside one awaited helper whose single result is journaled.
    """

    CODE = "DC303"
    NAME = "completion-order-wait"
    MESSAGE = "yields work in completion order; replay will see another order"
    CHECKPOINT_EXEMPT = False
    BANNED = {
        "asyncio.wait": Ban(_USE),
        "asyncio.as_completed": Ban(_USE),
    }
    VALID = (
        """
        import asyncio


        async def task(a, b):
            return await asyncio.gather(a(), b())
        """,
    )
    INVALID = (
        """
        import asyncio


        async def task(aws):
            done, pending = await asyncio.wait(aws)  # <-
            for fut in asyncio.as_completed(aws):  # <-
                print(await fut)
        """,
    )
