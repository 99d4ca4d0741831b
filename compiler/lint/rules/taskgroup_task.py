"""DC302 taskgroup-create-task."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["TaskGroupCreateTask"]

_USE = "`async with` on the group in the same function (`async with asyncio.TaskGroup() as tg:`)"


class TaskGroupCreateTask(Rule):
    """What it does: finds ``create_task`` on an ``asyncio.TaskGroup`` that the same function
    creates but does not enter with ``async with``. A group entered with ``async with`` is not
    reported: inside a run each ``tg.create_task(...)`` is a durable child keyed by its creation
    order in the scope that created it, its finished children are not run again on resume, and a
    child the group cancels records that and is replayed as cancelled. A group that comes from
    elsewhere (a parameter, an attribute) is not reported either; the code that enters it is
    linted where it is.

    Why it breaks replay: only the ``async with`` block makes the task wait for the group's
    children. A group entered by hand (``await group.__aenter__()``) or never entered can leave
    children running when the task returns, suspends or crashes: their work is lost or done a
    second time on resume, like a fire-and-forget task (DC301).

    Example::

        async def fetch_all(urls):
            group = asyncio.TaskGroup()
            await group.__aenter__()
            for url in urls:
                group.create_task(fetch(url))

    Use instead: ``async with asyncio.TaskGroup() as tg:`` around the ``tg.create_task(...)``
    calls, so the block ends only when every child has. The code stays registered so that
    ``# durablec: allow[DC302]`` comments written for the former, wider rule stay valid.
    """

    CODE = "DC302"
    NAME = "taskgroup-create-task"
    MESSAGE = "adds a child to a TaskGroup this function never enters with `async with`; nothing waits for it"
    BANNED = {"<taskgroup>.create_task": Ban(_USE)}
    VALID = (
        """
        import asyncio
        from asyncio import TaskGroup


        async def task(pool, urls):
            pool.create_task(fetch())  # not a TaskGroup the linter can see
            async with asyncio.TaskGroup() as tg:
                for url in urls:
                    tg.create_task(fetch(url))
            group = TaskGroup()
            async with group:
                group.create_task(fetch())
            return await asyncio.gather(*(fetch(u) for u in urls))
        """,
    )
    INVALID = (
        """
        import asyncio


        async def task(urls):
            group = asyncio.TaskGroup()
            await group.__aenter__()
            for url in urls:
                group.create_task(fetch(url))  # <-
        """,
    )
