"""DC103 blocking-sleep."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["BlockingSleep"]


class BlockingSleep(Rule):
    """What it does: finds ``time.sleep(...)`` in task code.

    Why it breaks replay: a blocking sleep holds the worker and the event loop, is not journaled
    and is slept again on every replay; a crash during it loses the time already waited.

    Example::

        async def remind(user):
            time.sleep(3600)
            await send_reminder(user)

    Use instead: ``await durablec.sleep(seconds)``: durable, journaled, and a long sleep frees the
    worker until the run is due.
    """

    CODE = "DC103"
    NAME = "blocking-sleep"
    MESSAGE = "blocks the worker and sleeps again on every replay"
    BANNED = {"time.sleep": Ban("`await durablec.sleep(seconds)`")}
    VALID = (
        """
        import asyncio


        async def task():
            await asyncio.sleep(1)
        """,
    )
    INVALID = (
        """
        from time import sleep


        async def task():
            sleep(5)  # <-
        """,
    )
