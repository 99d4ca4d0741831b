"""Control flow shared by the engine, the API and the runner: suspension and settled errors."""

from __future__ import annotations

__all__ = ["Suspend", "mark_settled", "settled"]


class Suspend(BaseException):
    """Takes a run off its worker without keeping its coroutine.

    A BaseException so that a task's ``except Exception`` does not swallow it; every checkpoint
    reached while it unwinds raises it again instead of executing.
    """

    def __init__(
        self, status: str, reason: str, *, wake_at: float | None = None, waiting_for: str | None = None
    ) -> None:
        self.status = status
        self.reason = reason
        self.wake_at = wake_at
        self.waiting_for = waiting_for
        super().__init__(reason)


def mark_settled(exc: BaseException) -> BaseException:
    """Mark an error whose retries are spent (or that was replayed): no outer scope retries it."""
    try:
        exc.__durablec_settled__ = True  # type: ignore[attr-defined]  # a marker on the instance
    except AttributeError:
        pass  # an exception without __dict__ is at worst retried once more by an outer scope
    return exc


def settled(exc: BaseException) -> bool:
    return getattr(exc, "__durablec_settled__", False) is True
