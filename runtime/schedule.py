"""Cron schedules: which slots a schedule fires, computed for a time the caller passes.

Pure: no database and no clock read here (the worker passes the time; tests pass any time).
croniter parses and steps the expressions; zoneinfo supplies the time zones. Slots are stepped in
the schedule's local wall-clock time and then mapped to UTC instants, so one rule covers every
daylight-saving change whatever the expression:

- a local time that does not exist (skipped when clocks go forward) fires once, at the instant
  the clocks jump: 02:30 in Europe/Paris on the last Sunday of March fires at 03:00 CEST;
- a local time that happens twice (clocks go back) fires once, at its first occurrence.

A slot is an instant in seconds since the Unix epoch (UTC), like every time in the journal.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import takewhile
from typing import TYPE_CHECKING, Final, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


from durablec.errors import UsageError

if TYPE_CHECKING:
    from croniter import croniter

__all__ = ["SLOT_RUN_PREFIX", "Catchup", "Cron", "GRACE_SECONDS", "Plan", "catchup_of", "utc"]

Catchup = Literal["skip", "latest", "all"]
"""What becomes of slots missed while no worker ran: none, the newest one, or all (bounded)."""

GRACE_SECONDS: Final = 60.0
"""A slot fired less than this late is on time (a worker restarting, a slow poll), whatever the
catch-up policy; an older one is missed and left to the policy."""

SLOT_RUN_PREFIX: Final = "schedule:"
"""The run ids (and idempotency keys) of scheduled runs start with it: ``schedule:ID@TIME``."""

DEFAULT_CATCHUP_LIMIT: Final = 100
_CATCHUPS: Final[dict[str, Catchup]] = {name: name for name in get_args(Catchup)}

# Croniter steps from a start time; a start well in the past proves an expression ever matches.
_PROBE: Final = datetime(2000, 1, 1)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one look at a schedule decides: the slots to start a run for, and the next slot."""

    fire: tuple[float, ...]
    """Slots to fire, oldest first."""
    last_slot: float
    """The newest slot decided (fired or skipped); the next look starts after it."""
    next_at: float
    """The first slot after the time looked at."""


@dataclass(frozen=True, slots=True)
class Cron:
    """When a task runs by itself: cron expressions in a time zone, and the policies.

    ``exprs`` are five-field (minute hour day month weekday) or six-field (second first)
    expressions, or aliases such as ``@hourly``; several expressions fire at the union of their
    slots. ``catchup`` decides the slots missed while no worker ran (``catchup_limit`` bounds
    ``"all"``); ``overlap=False`` skips a slot while the schedule's previous run is unfinished.
    """

    exprs: tuple[str, ...]
    timezone: str = "UTC"
    catchup: Catchup = "skip"
    catchup_limit: int = DEFAULT_CATCHUP_LIMIT
    overlap: bool = True

    @classmethod
    def of(
        cls, cron: str | Sequence[str], *, timezone: str = "UTC", catchup: Catchup = "skip",
        catchup_limit: int = DEFAULT_CATCHUP_LIMIT, overlap: bool = True,
    ) -> Cron:
        """A Cron from what a person wrote (one expression or several), checked."""
        exprs = (cron,) if isinstance(cron, str) else tuple(cron)
        made = cls(exprs, timezone, catchup_of(catchup), catchup_limit, overlap)
        made.check()
        return made

    def check(self) -> None:
        """Raise a UsageError naming what is wrong with the expressions, zone or bounds."""
        if not self.exprs:
            raise UsageError("a schedule needs at least one cron expression")
        for expr in self.exprs:
            fields = len(expr.split())
            if not expr.strip().startswith("@") and fields not in (5, 6):
                raise UsageError(
                    f"cron expression {expr!r} has {fields} fields; give 5 (minute hour day "
                    "month weekday) or 6 (second minute hour day month weekday)"
                )
            from croniter import CroniterError

            try:
                _steps(expr, _PROBE, backwards=False).get_next(datetime)
            except CroniterError as exc:
                raise UsageError(f"cron expression {expr!r} is not valid: {exc}") from None
        self.zone()
        if self.catchup_limit < 1:
            raise UsageError(f"catchup_limit={self.catchup_limit} must be at least 1")

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                f"time zone {self.timezone!r} is not known; give an IANA name such as "
                "'Europe/Paris' or 'UTC'"
            ) from None

    def slots_after(self, after: float) -> Iterator[float]:
        """The slots later than ``after``, in increasing order, without end."""
        zone = self.zone()
        start = _local(after, zone)
        streams = [_mapped(expr, start, zone, backwards=False) for expr in self.exprs]
        return _distinct(s for s in heapq.merge(*streams) if s > after)

    def slots_until(self, until: float) -> Iterator[float]:
        """The slots at or before ``until``, in decreasing order."""
        zone = self.zone()
        # Croniter steps back from strictly before its start: start one second later.
        start = _local(until, zone) + timedelta(seconds=1)
        streams = [_mapped(expr, start, zone, backwards=True) for expr in self.exprs]
        return _distinct(s for s in heapq.merge(*streams, reverse=True) if s <= until)

    def next_slot(self, after: float) -> float:
        return next(self.slots_after(after))

    def plan(self, last_slot: float, at: float, *, busy: bool) -> Plan:
        """Decide the slots after ``last_slot`` up to ``at``.

        Slots less than GRACE_SECONDS old are on time and fire; older ones are missed and fire per
        the catch-up policy: none (``skip``), the newest (``latest``) or the newest
        ``catchup_limit`` (``all``). With ``overlap=False`` at most one slot fires, the newest,
        and none while ``busy`` (the schedule's previous run is unfinished); with overlap
        allowed ``busy`` changes nothing.
        """
        horizon = at - GRACE_SECONDS
        on_time = list(takewhile(lambda slot: slot <= at,
                                 self.slots_after(max(last_slot, horizon))))
        wanted = {"skip": 0, "latest": 1, "all": self.catchup_limit}[self.catchup]
        missed: list[float] = []
        if wanted and horizon > last_slot:
            for slot in self.slots_until(horizon):
                if slot <= last_slot or len(missed) >= wanted:
                    break
                missed.append(slot)
        due = missed[::-1] + on_time
        if self.overlap:
            fire = tuple(due)
        else:
            fire = () if busy else tuple(due[-1:])
        # Every due slot is now decided, including missed ones beyond the policy's bound.
        newest = self.slots_until(at)
        last = max(last_slot, next(newest, last_slot))
        return Plan(fire, last, self.next_slot(at))


def catchup_of(text: str) -> Catchup:
    """The catch-up policy named ``text`` (from a command line or a journal row), checked: a
    typo must not silently become another policy."""
    policy = _CATCHUPS.get(text)
    if policy is None:
        raise UsageError(f"catchup={text!r} is not one of 'skip', 'latest', 'all'")
    return policy


def _steps(expr: str, start: datetime, *, backwards: bool) -> croniter:
    # Imported here: every task module imports this module, and croniter costs ~50 ms to load.
    from croniter import croniter

    six = not expr.strip().startswith("@") and len(expr.split()) == 6
    return croniter(expr, start, ret_type=datetime, is_prev=backwards, second_at_beginning=six)


def _local(instant: float, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock time at ``instant``, to the second."""
    return datetime.fromtimestamp(math.floor(instant), zone).replace(tzinfo=None)


def _mapped(expr: str, start: datetime, zone: ZoneInfo, *, backwards: bool) -> Iterator[float]:
    steps = _steps(expr, start, backwards=backwards)
    step = steps.get_prev if backwards else steps.get_next
    while True:
        yield _instant(step(datetime), zone)


def _instant(local: datetime, zone: ZoneInfo) -> float:
    """The UTC instant of a naive local time: its first occurrence when it happens twice, the
    moment the clocks jumped over it when it does not exist."""
    first = local.replace(tzinfo=zone, fold=0).timestamp()
    if _local(first, zone) == local:
        return first
    # In a gap fold=1 reads the time with the offset after the change, an earlier instant than
    # fold=0's; the jump lies between. Find the first second whose local time is past ``local``.
    low, high = int(local.replace(tzinfo=zone, fold=1).timestamp()), int(first)
    while low < high:
        middle = (low + high) // 2
        if _local(middle, zone) >= local:
            high = middle
        else:
            low = middle + 1
    return float(low)


def _distinct(slots: Iterator[float]) -> Iterator[float]:
    """Drop repeats: several expressions, or several skipped local times, can meet on one instant."""
    previous: float | None = None
    for slot in slots:
        if slot != previous:
            yield slot
            previous = slot


def utc(slot: float) -> datetime:
    """A slot as an aware UTC datetime (what ``durablec.now()`` returns)."""
    return datetime.fromtimestamp(slot, timezone.utc)
