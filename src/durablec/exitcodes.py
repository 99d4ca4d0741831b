"""The exit codes of the ``durablec`` command (SPEC 6), one documented member each."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a ``durablec`` process tells its caller through its exit status."""

    OK = 0
    """The command did what was asked: a build is complete and up to date, a run completed."""

    FINDINGS = 1
    """The command ran and found problems: lint findings, compile errors, a stale build under
    ``--check``, a run that ended failed, a run paused because the code no longer replays its
    journal or a result cannot be journaled, or histories that diverge under ``replay --check``."""

    USAGE = 2
    """The command could not run as called: bad options, a missing path or target, arguments
    that do not fit the task, a journal it cannot use (unreachable, newer schema, a tampered
    row), or any other ``DurablecError`` (its message is printed on one line)."""

    SUSPENDED = 3
    """``durablec run`` stopped because the run is suspended (a durable sleep or a wait for an
    event); a worker or a later ``durablec run --run-id`` resumes it."""
