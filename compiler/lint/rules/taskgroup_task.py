"""DC302 taskgroup-create-task."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["TaskGroupCreateTask"]

_USE = "`await asyncio.gather(...)`, whose children are keyed by position"


class TaskGroupCreateTask(Rule):
    """What it does: finds ``tg.create_task(...)`` on an ``asyncio.TaskGroup``.

    Why it breaks replay: the group's tasks run concurrently and reach their awaits in an order
    set by timing; a replay cannot tell which recorded step belongs to which task, and a task
    that had finished before a crash is started again.

    Example::

        async def fetch_all(urls):
            async with asyncio.TaskGroup() as tg:
                for url in urls:
                    tg.create_task(fetch(url))

    Use instead: ``await asyncio.gather(*(fetch(u) for u in urls))``: each child is keyed by its
    argument position, so replay matches every child with its own journal whatever the timing.
    """

    CODE = "DC302"
    NAME = "taskgroup-create-task"
    MESSAGE = "starts a task group child outside a checkpoint; replay cannot match its steps"
    BANNED = {"<taskgroup>.create_task": Ban(_USE)}
    VALID = (
        """
        import asyncio


        async def task(pool, urls):
            pool.create_task(fetch())  # not a TaskGroup the linter can see
            return await asyncio.gather(*(fetch(u) for u in urls))
        """,
    )
    INVALID = (
        """
        import asyncio


        async def task(urls):
            async with asyncio.TaskGroup() as tg:
                for url in urls:
                    tg.create_task(fetch(url))  # <-
        """,
        """
        from asyncio import TaskGroup


        async def task(urls):
            group = TaskGroup()
            async with group:
                group.create_task(fetch())  # <-
        """,
    )
