"""durablec: durable execution for ordinary async Python.

Write ``async def`` tasks, compile them (``durablec build`` or compile-on-import), and run them
with :func:`run`, a :class:`Client` or ``durablec worker``: every await is a checkpoint.

The names below load on first use (PEP 562): every compiled module imports
``durablec.runtime.abi``, which must not pay for the database layer it may never use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from durablec.runtime.api import idempotency_key, now, random, sleep, uuid4, wait_for_event
    from durablec.runtime.client import Client, Handle, send_event
    from durablec.runtime.inprocess import arun, run
    from durablec.runtime.model import RunInfo
    from durablec.runtime.policy import Retry
    from durablec.runtime.queue import Queue
    from durablec.runtime.resources import resource
    from durablec.runtime.step import step
    from durablec.runtime.task import Task, task

_HOMES = {
    "idempotency_key": "durablec.runtime.api",
    "now": "durablec.runtime.api",
    "random": "durablec.runtime.api",
    "sleep": "durablec.runtime.api",
    "uuid4": "durablec.runtime.api",
    "wait_for_event": "durablec.runtime.api",
    "Client": "durablec.runtime.client",
    "Handle": "durablec.runtime.client",
    "RunInfo": "durablec.runtime.model",
    "arun": "durablec.runtime.inprocess",
    "run": "durablec.runtime.inprocess",
    "send_event": "durablec.runtime.client",
    "Retry": "durablec.runtime.policy",
    "Queue": "durablec.runtime.queue",
    "resource": "durablec.runtime.resources",
    "step": "durablec.runtime.step",
    "Task": "durablec.runtime.task",
    "task": "durablec.runtime.task",
}

__all__ = [
    "Client",
    "Handle",
    "Queue",
    "Retry",
    "RunInfo",
    "Task",
    "__version__",
    "arun",
    "idempotency_key",
    "now",
    "random",
    "resource",
    "run",
    "send_event",
    "sleep",
    "step",
    "task",
    "uuid4",
    "wait_for_event",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'durablec' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
