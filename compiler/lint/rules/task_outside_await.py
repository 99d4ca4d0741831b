"""DC301 task-started-outside-await."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, CallSite, Rule, Scope
from durablec.compiler.lint._syntax import dotted

__all__ = ["TaskStartedOutsideAwait"]

_USE_AWAIT = "`await` on the call itself (a checkpoint), or `await asyncio.to_thread(fn, ...)` for blocking work"
_USE_KEEP = (
    "`tg.create_task(...)` inside `async with asyncio.TaskGroup() as tg:`, or keep the task and "
    "`await` it (or gather it) before the task returns"
)
# Tasks created by task code are durable children keyed by creation order (runtime/spawn.py),
# so these are judged by visit_call: only a task whose reference is dropped is reported.
_SPAWNERS = ("asyncio.create_task", "asyncio.ensure_future", "<loop>.create_task")


class TaskStartedOutsideAwait(Rule):
    """What it does: finds work started on the event loop that nothing awaits or groups: a task
    created and dropped on the spot (``asyncio.create_task(...)``, ``asyncio.ensure_future(...)``
    or ``loop.create_task(...)`` as a statement of its own, fire-and-forget), and callbacks and
    executor work that is not the awaited expression (``loop.call_soon``/``call_later``/
    ``call_at``, ``loop.run_in_executor``, ``asyncio.run_coroutine_threadsafe``). A task that is
    kept (assigned, appended, passed on) is not reported: inside a run it is a durable child
    keyed by its creation order, replayed whatever the timing, once something awaits it. The
    awaited expression itself (``await loop.run_in_executor(None, work)``) is a checkpoint and is
    not reported either. A bare reference to one of these names (``spawn = asyncio.create_task``)
    is reported: the linter cannot see what becomes of the tasks made through it.

    Why it breaks replay: a task that nothing awaits may still be running when the run returns,
    suspends or crashes: its work is lost, or done a second time when the run is resumed, and
    its errors reach no one. Callbacks and executor work run outside any step: replay runs them
    again and cannot order them.

    Example::

        async def notify_all(users):
            for user in users:
                asyncio.create_task(notify(user))

    Use instead: group the tasks, ``async with asyncio.TaskGroup() as tg:`` then
    ``tg.create_task(notify(user))``, or keep them and ``await asyncio.gather(*tasks)`` before
    returning; each child is keyed by its creation order. For blocking work, await the call:
    ``await loop.run_in_executor(None, work)`` or ``await asyncio.to_thread(work)``.
    """

    CODE = "DC301"
    NAME = "task-started-outside-await"
    MESSAGE = "starts work that nothing awaits or groups; it cannot be durable"
    BANNED = {
        "asyncio.run_coroutine_threadsafe": Ban(_USE_AWAIT),
        "<loop>.run_in_executor": Ban(_USE_AWAIT),
        "<loop>.call_soon": Ban(_USE_AWAIT),
        "<loop>.call_soon_threadsafe": Ban(_USE_AWAIT),
        "<loop>.call_later": Ban(_USE_AWAIT),
        "<loop>.call_at": Ban(_USE_AWAIT),
        **{name: Ban(_USE_KEEP, calls=False) for name in _SPAWNERS},
    }
    VALID = (
        """
        import asyncio


        async def task(work, users):
            loop = asyncio.get_running_loop()
            a = await loop.run_in_executor(None, work)
            b = await asyncio.create_task(fetch())
            t = asyncio.create_task(fetch())
            tasks = [asyncio.ensure_future(notify(u)) for u in users]
            async with asyncio.TaskGroup() as tg:
                tg.create_task(notify(users[0]))
            return a, b, await t, await asyncio.gather(*tasks)
        """,
    )
    INVALID = (
        """
        import asyncio


        async def task(users):
            for user in users:
                asyncio.create_task(notify(user))  # <-
            loop = asyncio.get_running_loop()
            loop.create_task(notify(users[0]))  # <-
        """,
        """
        import asyncio


        async def task(work):
            loop = asyncio.get_running_loop()
            fut = loop.run_in_executor(None, work)  # <-
            loop.call_later(5, work)  # <-
            return await asyncio.wait_for(fut, 5)
        """,
        """
        import asyncio
        from asyncio import ensure_future


        async def task(coros):
            async with asyncio.TaskGroup():
                # not the group's child: nothing awaits it
                ensure_future(coros[0])  # <-
            return list(map(ensure_future, coros))  # <-
        """,
    )

    @classmethod
    def visit_call(cls, site: CallSite, scope: Scope) -> None:
        if site.callee in _SPAWNERS and site.discarded:
            shown = dotted(site.node.func) or site.callee.replace("<loop>", "loop")
            scope.report(
                cls.CODE, site.node,
                f"`{shown}()` starts a task and drops it (fire-and-forget): nothing awaits or "
                f"groups it, so it cannot be durable. Use {_USE_KEEP}",
            )
