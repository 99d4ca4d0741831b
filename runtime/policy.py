"""Retry policies: how often and how soon a failing checkpoint is attempted again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Retry"]


@dataclass(frozen=True, slots=True)
class Retry:
    """A task's retry policy; build one with the class methods."""

    kind: Literal["exponential", "fixed", "manual", "none"]
    max_attempts: int
    initial: float = 1.0
    factor: float = 2.0
    max_delay: float | None = None

    @classmethod
    def exponential(
        cls,
        initial: float = 1.0,
        factor: float = 2.0,
        max_delay: float | None = 60.0,
        max_attempts: int = 5,
    ) -> Retry:
        """Delays ``initial``, ``initial*factor``, ... capped at ``max_delay``; at most ``max_attempts`` tries."""
        if max_attempts < 1 or initial < 0 or factor < 1:
            raise ValueError("Retry.exponential needs max_attempts >= 1, initial >= 0, factor >= 1")
        return cls("exponential", max_attempts, initial, factor, max_delay)

    @classmethod
    def fixed(cls, delay: float, max_attempts: int = 3) -> Retry:
        """The same ``delay`` between tries; at most ``max_attempts`` tries."""
        if max_attempts < 1 or delay < 0:
            raise ValueError("Retry.fixed needs max_attempts >= 1 and delay >= 0")
        return cls("fixed", max_attempts, delay, 1.0, None)

    @classmethod
    def manual(cls) -> Retry:
        """No automatic retry: a failure pauses the run until ``durablec retry`` or ``cancel``."""
        return cls("manual", 1)

    @classmethod
    def none(cls) -> Retry:
        """No retry: the first failure is final and raised into the task."""
        return cls("none", 1)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        value = self.initial * self.factor ** (attempt - 1)
        return value if self.max_delay is None else min(value, self.max_delay)


DEFAULT_RETRY = Retry.exponential(max_attempts=3)
"""Used by tasks that name no policy: a transient failure gets two more tries (1 s, then 2 s)."""
