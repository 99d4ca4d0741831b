"""durablec: durable execution for ordinary async Python.

Write ``async def`` tasks, compile them (``durablec build`` or compile-on-import), and run them
with :func:`run`, a :class:`Client` or ``durablec worker``: every await is a checkpoint.
"""

__version__ = "0.1.0"

from durablec.runtime.api import idempotency_key, now, random, sleep, uuid4, wait_for_event
from durablec.runtime.client import Client, Handle, RunInfo, arun, run, send_event
from durablec.runtime.policy import Retry
from durablec.runtime.task import Task, task

__all__ = [
    "Client",
    "Handle",
    "Retry",
    "RunInfo",
    "Task",
    "__version__",
    "arun",
    "idempotency_key",
    "now",
    "random",
    "run",
    "send_event",
    "sleep",
    "task",
    "uuid4",
    "wait_for_event",
]
