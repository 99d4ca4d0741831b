"""Named queues: how many runs of the tasks on a queue may execute at once, across all workers.

``Queue("emails", concurrency=10)`` caps the queue as a whole (DBOS's ``concurrency``, Trigger.dev's
``concurrencyLimit``); ``per_key=1`` caps each concurrency key within it (Trigger.dev's
``concurrencyKey``: one run at a time per tenant). Only runs executing count; sleeping and waiting
runs hold no slot. Workers enforce the limits when they claim runs (claim.py), atomically.
"""

from __future__ import annotations

from dataclasses import dataclass

from durablec.errors import UsageError

__all__ = ["Queue"]


@dataclass(frozen=True, slots=True)
class Queue:
    """A named queue shared by the tasks that name it; limits hold across every worker."""

    name: str
    concurrency: int | None = None
    per_key: int | None = None

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 200:
            raise UsageError(f"a queue name is 1 to 200 characters, not {self.name!r}")
        for option in ("concurrency", "per_key"):
            value = getattr(self, option)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise UsageError(
                    f"queue {self.name!r}: {option} is a positive number of runs or None "
                    f"(no limit), not {value!r}"
                )

    @property
    def limited(self) -> bool:
        return self.concurrency is not None or self.per_key is not None
