"""The runtime's clock: the one place it reads the time and waits in the process.

Every time the runtime records or compares (a step's timestamps, a durable sleep's wake time, an
event timeout's deadline, a lease's expiry, when a run is due) is :func:`now`, and every wait a
run makes in its own process (a short durable sleep, a short retry backoff) is the clock's
``sleep``. ``durablec.testing.time_skipping`` swaps in a clock whose ``skips`` is set: runs then
never suspend to wait for time to pass (durable sleeps, retry backoffs, ``wait_for_event``
timeouts); they call ``sleep``, which completes at once and moves the clock forward instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Clock", "clock", "now", "use_clock"]


class Clock:
    """Wall time and real waits: the clock outside tests."""

    skips = False
    """When set, a run waits for due times through :meth:`sleep` instead of suspending."""

    # Seconds since the Unix epoch (UTC). The builtin itself, not a method around it: every
    # step reads the clock twice. A test clock overrides it with a method.
    time = staticmethod(time.time)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


_CURRENT: list[Clock] = [Clock()]


def clock() -> Clock:
    """The clock runs use now."""
    return _CURRENT[0]


def now() -> float:
    """The current time, in seconds since the Unix epoch, by the current clock."""
    return _CURRENT[0].time()


def use_clock(replacement: Clock) -> Callable[[], None]:
    """Make ``replacement`` the process's clock; returns the function that puts the previous back."""
    previous = _CURRENT[0]
    _CURRENT[0] = replacement

    def restore() -> None:
        _CURRENT[0] = previous

    return restore
