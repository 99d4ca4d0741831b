"""The steps both systems run, as plain (uncompiled) async functions shared by both sides.

Kept out of the task modules so that each system wraps exactly the same step bodies.
"""

from __future__ import annotations

import os
import random
import signal

PAYLOAD_BYTES = 10 * 1024
PAYLOAD = random.Random(0).randbytes(PAYLOAD_BYTES)
"""The 10 KB result of the large-result case: incompressible, the same in every process."""

LARGE_BYTES = 1024 * 1024
LARGE = random.Random(1).randbytes(LARGE_BYTES)
"""The 1 MiB result of each step of the large-payload recovery: incompressible."""

KILL_ENV = "BENCH_KILL"
"""Set in the process that records a run for the recovery case: its last step kills it."""


async def noop(i: int) -> int:
    return i


async def blob(i: int) -> bytes:
    return PAYLOAD


async def large(i: int) -> bytes:
    return LARGE


async def kill_if_asked() -> None:
    """SIGKILL this process, before the step's outcome is recorded, when asked to."""
    if os.environ.get(KILL_ENV):
        os.kill(os.getpid(), signal.SIGKILL)
