"""DC101 wall-clock-call."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["WallClockCall"]

_NOW = "`await durablec.now()`"


class WallClockCall(Rule):
    """What it does: finds reads of the wall clock (``time.time()``, ``datetime.now()``,
    ``date.today()``, ``time.localtime()`` without an argument, ...) inside task code.

    Why it breaks replay: a replayed task runs its code again from the top. The clock returns a
    new value on every run, so a branch or a value computed from it differs between the first run
    and the replay, and the task takes a path its journal never recorded.

    Example::

        async def expire(order):
            if time.time() > order.deadline:
                await cancel(order)

    Use instead: ``await durablec.now()``, a checkpoint that journals the time once and returns
    the same value on every replay.
    """

    CODE = "DC101"
    NAME = "wall-clock-call"
    MESSAGE = "reads the wall clock; replay will see another value"
    BANNED = {
        "time.time": Ban(_NOW, fix="(await {durablec}.now()).timestamp()"),
        "time.time_ns": Ban(_NOW),
        "time.localtime": Ban(_NOW, min_args=1),
        "time.gmtime": Ban(_NOW, min_args=1),
        "time.ctime": Ban(_NOW, min_args=1),
        "time.asctime": Ban(_NOW, min_args=1),
        "time.strftime": Ban(_NOW, min_args=2),
        "datetime.datetime.now": Ban(_NOW),
        "datetime.datetime.utcnow": Ban(_NOW),
        "datetime.datetime.today": Ban(_NOW),
        "datetime.date.today": Ban(_NOW),
    }
    VALID = (
        """
        import time

        started = time.time()  # module level runs once, at import


        async def task(ts):
            return time.localtime(ts), started
        """,
        """
        async def task(time):
            return time.time()  # a parameter, not the module
        """,
        """
        import asyncio
        import time


        async def task():
            return await asyncio.to_thread(time.time)  # runs inside a checkpoint
        """,
    )
    INVALID = (
        """
        import time


        async def task():
            return time.time()  # <-
        """,
        """
        from time import time as t


        async def task():
            return t()  # <-
        """,
        """
        import datetime
        from datetime import date


        async def task():
            a = datetime.datetime.now()  # <-
            b = date.today()  # <-
            return a, b
        """,
        """
        import time as _t


        def helper():
            return _t.localtime()  # <-


        async def task():
            return helper()
        """,
    )
