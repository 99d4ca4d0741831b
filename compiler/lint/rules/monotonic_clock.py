"""DC102 monotonic-clock-call."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["MonotonicClockCall"]

_USE = "`await durablec.now()` around the steps you want to time"


class MonotonicClockCall(Rule):
    """What it does: finds reads of monotonic and performance counters (``time.monotonic()``,
    ``time.perf_counter()``, ``time.process_time()``, an event loop's ``loop.time()``, ...).

    Why it breaks replay: these counters start at an arbitrary point in each process and advance
    while the task runs, so a replay on another worker (or the same one, later) reads values
    unrelated to those of the first run: timeouts and elapsed-time branches decide differently.

    Example::

        async def poll(job):
            start = time.monotonic()
            while time.monotonic() - start < 30:
                await check(job)

    Use instead: ``await durablec.now()`` (journaled), or ``await durablec.sleep(...)`` and the
    task's ``timeout=`` to bound waiting.
    """

    CODE = "DC102"
    NAME = "monotonic-clock-call"
    MESSAGE = "reads a process-local counter; replay will see another value"
    BANNED = {
        "time.monotonic": Ban(_USE),
        "time.monotonic_ns": Ban(_USE),
        "time.perf_counter": Ban(_USE),
        "time.perf_counter_ns": Ban(_USE),
        "time.process_time": Ban(_USE),
        "time.process_time_ns": Ban(_USE),
        "time.thread_time": Ban(_USE),
        "time.thread_time_ns": Ban(_USE),
        "time.clock_gettime": Ban(_USE),
        "time.clock_gettime_ns": Ban(_USE),
        "<loop>.time": Ban(_USE),
    }
    VALID = (
        """
        class Clock:
            def time(self):
                return 0


        async def task(loop: Clock):
            return loop.time()  # a parameter of unknown origin
        """,
    )
    INVALID = (
        """
        import asyncio
        from time import perf_counter


        async def task():
            loop = asyncio.get_running_loop()
            a = loop.time()  # <-
            b = asyncio.get_event_loop().time()  # <-
            return a, b, perf_counter()  # <-
        """,
        """
        import time


        async def task():
            clock = time.monotonic  # <-
            return clock
        """,
    )
