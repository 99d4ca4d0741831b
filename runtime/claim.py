"""Claiming due runs for a worker: each due run goes to one worker, within its queue's limits.

A claim takes the lease (new epoch) of up to N due runs in one transaction and hands the rows to
the executor, so no second read or compare-and-set follows. Due means pending, sleeping or
waiting past ``wake_at``, or running under an expired (or no) lease.

- Runs on no limited queue: one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED
  LIMIT n) RETURNING``; concurrent workers skip each other's rows instead of waiting or
  colliding. SQLite serializes writers, so the same statement (without the locking clause, which
  SQLite does not have) is atomic there too.
- Runs on a limited queue: the queue's claims are serialized (a transaction-scoped advisory lock
  on PostgreSQL, the database write lock on SQLite), the runs executing on it are counted per
  concurrency key, and only runs that fit are claimed. So a limit holds across all workers.
- Runs leased by a process of this host that no longer exists (a killed worker) are taken over
  at once, by a compare-and-set on their epoch, instead of after their lease expires.

The statements are the store's (store/leases.py); which tasks are claimed together, in which
order, and which runs fit a queue's limits is decided here.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from durablec.errors import UsageError
from durablec.runtime import store
from durablec.runtime.lease import LEASE_SECONDS, Owner, holder_alive, holding
from durablec.runtime.model import RunRecord
from durablec.runtime.queue import Queue
from durablec.runtime.store import Journal, now
from durablec.runtime.task import Task

__all__ = ["Claimer"]

_LOCAL_SCAN_SECONDS: Final = 1.0
"""How often a worker looks for runs of dead processes on its host (a read of running rows)."""


@dataclass(frozen=True, slots=True)
class _Group:
    """Tasks claimed together: those on one limited queue, or all those on no limited queue."""

    task_ids: tuple[str, ...]
    queue: Queue | None


class Claimer:
    """Claims due runs of the tasks a worker serves, for one owner."""

    def __init__(self, journal: Journal, owner: Owner, tasks: Iterable[Task[Any, Any]]) -> None:
        self._journal = journal
        self._owner = owner
        self._groups = _groups(tasks)
        self._task_ids = tuple(t for group in self._groups for t in group.task_ids)
        self._next_local_scan = 0.0

    def claim(self, limit: int) -> list[tuple[RunRecord, int]]:
        """Lease up to ``limit`` due runs; returns (run, epoch) pairs, oldest first."""
        at = now()
        got: list[RunRecord] = []
        if at >= self._next_local_scan:
            self._next_local_scan = at + _LOCAL_SCAN_SECONDS
            got += self._take_over_local(at, limit)
        holder = holding(self._owner, at)
        # A random order, so that a deep backlog on one queue does not starve the others.
        for group in random.sample(self._groups, len(self._groups)):
            if len(got) >= limit:
                break
            if group.queue is None:
                got += store.claim_due(self._journal, group.task_ids, limit - len(got), holder,
                                       at, idle_timeout=LEASE_SECONDS)
            else:
                got += store.claim_on_queue(
                    self._journal, group.task_ids, group.queue.name, limit - len(got),
                    _chooser(group.queue, limit - len(got)), holder, at,
                    idle_timeout=LEASE_SECONDS)
        got.sort(key=lambda row: row.created_at)
        return [(row, row.lease_epoch) for row in got]

    def _take_over_local(self, at: float, limit: int) -> list[RunRecord]:
        owner = self._owner
        leased = store.leased_on_host(self._journal, self._task_ids, owner.host, owner.id, at)
        orphans = [(row.id, row.lease_epoch) for row in leased
                   if not holder_alive(row, owner, at)][:limit]
        if not orphans:
            return []
        return store.take_over(self._journal, orphans, holding(owner, at), at)


def _chooser(queue: Queue, limit: int) -> store.Choose:
    """Picks, oldest first, the due runs that fit the queue's limits, up to ``limit``."""

    def choose(busy: Counter[str | None], candidates: Iterable[tuple[str, str | None]]
               ) -> list[str]:
        total = sum(busy.values())
        chosen: list[str] = []
        for run_id, key in candidates:
            if len(chosen) >= limit or (queue.concurrency is not None
                                        and total >= queue.concurrency):
                break
            if queue.per_key is not None and busy[key] >= queue.per_key:
                continue
            chosen.append(run_id)
            busy[key] += 1
            total += 1
        return chosen

    return choose


def _groups(tasks: Iterable[Task[Any, Any]]) -> list[_Group]:
    unlimited: list[str] = []
    limited: dict[str, tuple[Queue, list[str]]] = {}
    for task in tasks:
        queue = task.queue
        if queue is None or not queue.limited:
            unlimited.append(task.id)
            continue
        known, ids = limited.setdefault(queue.name, (queue, []))
        if known != queue:
            raise UsageError(
                f"queue {queue.name!r} is declared twice with other limits ({known} for "
                f"{ids[0]!r}, {queue} for {task.id!r}); declare one Queue object and share it"
            )
        ids.append(task.id)
    groups = [_Group(tuple(ids), queue) for queue, ids in limited.values()]
    if unlimited:
        groups.append(_Group(tuple(unlimited), None))
    return groups
