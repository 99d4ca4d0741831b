"""DC304 thread-started-outside-await."""

from __future__ import annotations

from durablec.compiler.lint._rule import Ban, Rule

__all__ = ["ThreadStartedOutsideAwait"]

_USE = "`await asyncio.to_thread(fn, ...)`, which is a checkpoint"
_NAMES = (
    "threading.Thread",
    "threading.Timer",
    "_thread.start_new_thread",
    "multiprocessing.Process",
    "multiprocessing.Pool",
    "concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.ProcessPoolExecutor",
    "os.fork",
)


class ThreadStartedOutsideAwait(Rule):
    """What it does: finds threads, processes and executors created in task code
    (``threading.Thread``, ``multiprocessing.Process``, ``ThreadPoolExecutor``, ``os.fork``, ...).

    Why it breaks replay: work in another thread or process is invisible to the journal; it
    runs again on every replay and its results arrive in an order set by timing.

    Example::

        async def export(report):
            threading.Thread(target=upload, args=(report,)).start()

    Use instead: ``await asyncio.to_thread(upload, report)``: the awaited call is a checkpoint,
    so it runs once and its result is journaled.
    """

    CODE = "DC304"
    NAME = "thread-started-outside-await"
    MESSAGE = "starts a thread or process outside a checkpoint; replay starts it again"
    BANNED = {name: Ban(_USE) for name in _NAMES}
    VALID = (
        """
        import asyncio
        import threading

        LOCK = threading.Lock()


        async def task(report):
            return await asyncio.to_thread(upload, report)
        """,
    )
    INVALID = (
        """
        import threading
        from concurrent.futures import ThreadPoolExecutor


        async def task(report):
            threading.Thread(target=upload, args=(report,)).start()  # <-
            with ThreadPoolExecutor() as pool:  # <-
                pool.submit(upload, report)
        """,
    )
