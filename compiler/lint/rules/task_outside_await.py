"""DC301 task-started-outside-await."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["TaskStartedOutsideAwait"]

_USE = "`await` on the coroutine itself, or `await asyncio.gather(...)` for concurrency"


class TaskStartedOutsideAwait(Rule):
    """What it does: finds work scheduled on the event loop without being awaited on the spot:
    ``asyncio.create_task()``, ``asyncio.ensure_future()``, ``run_coroutine_threadsafe()``,
    and an event loop's ``create_task``, ``run_in_executor`` and ``call_soon``/``call_later``/
    ``call_at``. The same call written as the awaited expression (``await
    loop.run_in_executor(None, work)``) is a checkpoint and is not reported.

    Why it breaks replay: a task started in the background runs outside the checkpoint order; its
    awaits interleave with the parent's by timing, so on replay they are keyed differently, and
    the work it does before a crash is started a second time when the parent is replayed.

    Example::

        async def notify_all(users):
            for user in users:
                asyncio.create_task(notify(user))

    Use instead: ``await notify(user)``, or ``await asyncio.gather(*(notify(u) for u in
    users))``: durablec keys each child of a gather by its argument position, not by timing.
    """

    CODE = "DC301"
    NAME = "task-started-outside-await"
    MESSAGE = "starts work outside a checkpoint; replay cannot order or skip it"
    BANNED = {
        "asyncio.create_task": Ban(_USE),
        "asyncio.ensure_future": Ban(_USE),
        "asyncio.run_coroutine_threadsafe": Ban(_USE),
        "<loop>.create_task": Ban(_USE),
        "<loop>.run_in_executor": Ban(_USE),
        "<loop>.call_soon": Ban(_USE),
        "<loop>.call_soon_threadsafe": Ban(_USE),
        "<loop>.call_later": Ban(_USE),
        "<loop>.call_at": Ban(_USE),
    }
    VALID = (
        """
        import asyncio


        async def task(work):
            loop = asyncio.get_running_loop()
            a = await loop.run_in_executor(None, work)
            b = await asyncio.create_task(fetch())
            return a, b, await asyncio.gather(fetch(), fetch())
        """,
    )
    INVALID = (
        """
        import asyncio


        async def task():
            t = asyncio.create_task(fetch())  # <-
            return await t
        """,
        """
        import asyncio


        async def task(work):
            loop = asyncio.get_running_loop()
            fut = loop.run_in_executor(None, work)  # <-
            return await asyncio.wait_for(fut, 5)
        """,
        """
        from asyncio import ensure_future


        async def task():
            return await asyncio.shield(ensure_future(fetch()))  # <-
        """,
    )
