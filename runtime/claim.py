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
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_, update

from durablec.errors import UsageError
from durablec.runtime.journal import Journal, meta, now, runs
from durablec.runtime.lease import Owner, bound_idle_transaction, holder_alive, lease_values
from durablec.runtime.queue import Queue
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

    def claim(self, limit: int) -> list[tuple[Any, int]]:
        """Lease up to ``limit`` due runs; returns (run row, epoch) pairs, oldest first."""
        at = now()
        got: list[Any] = []
        if at >= self._next_local_scan:
            self._next_local_scan = at + _LOCAL_SCAN_SECONDS
            got += self._take_over_local(at, limit)
        # A random order, so that a deep backlog on one queue does not starve the others.
        for group in random.sample(self._groups, len(self._groups)):
            if len(got) >= limit:
                break
            if group.queue is None:
                got += self._claim_unlimited(group.task_ids, at, limit - len(got))
            else:
                got += self._claim_limited(group.task_ids, group.queue, at, limit - len(got))
        got.sort(key=lambda row: row.created_at)
        return [(row, row.lease_epoch) for row in got]

    def _claim_unlimited(self, task_ids: tuple[str, ...], at: float, limit: int) -> list[Any]:
        pick = (
            select(runs.c.id)
            .where(runs.c.task_id.in_(task_ids), _due(at))
            .order_by(runs.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._journal.begin() as conn:
            bound_idle_transaction(self._journal, conn)
            return list(conn.execute(
                update(runs).where(runs.c.id.in_(pick)).values(lease_values(self._owner, at))
                .returning(*runs.c)
            ))

    def _claim_limited(
        self, task_ids: tuple[str, ...], queue: Queue, at: float, limit: int
    ) -> list[Any]:
        journal = self._journal
        with journal.begin() as conn:
            bound_idle_transaction(journal, conn)
            if journal.is_sqlite:
                # A write first: the transaction holds SQLite's write lock for the count below.
                conn.execute(update(meta).where(meta.c.key == "schema_version")
                             .values(value=meta.c.value))
            else:
                conn.execute(select(func.pg_advisory_xact_lock(
                    func.hashtextextended("durablec queue " + queue.name, 0))))
            busy = Counter({
                key: count for key, count in conn.execute(
                    select(runs.c.concurrency_key, func.count())
                    .where(runs.c.queue == queue.name, runs.c.status == "running",
                           runs.c.lease_expires_at >= at)
                    .group_by(runs.c.concurrency_key)
                )
            })
            total = sum(busy.values())
            # Past per-key limits some candidates are skipped: look further than ``limit``.
            candidates = conn.execute(
                select(runs.c.id, runs.c.concurrency_key)
                .where(runs.c.task_id.in_(task_ids), _due(at))
                .order_by(runs.c.created_at)
                .limit(limit * 4 + 16)
                .with_for_update(skip_locked=True)
            )
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
            if not chosen:
                return []
            return list(conn.execute(
                update(runs).where(runs.c.id.in_(chosen)).values(lease_values(self._owner, at))
                .returning(*runs.c)
            ))

    def _take_over_local(self, at: float, limit: int) -> list[Any]:
        owner = self._owner
        with self._journal.begin() as conn:
            leased = list(conn.execute(
                select(runs.c.id, runs.c.lease_owner, runs.c.lease_host, runs.c.lease_pid,
                       runs.c.lease_expires_at, runs.c.lease_epoch)
                .where(runs.c.task_id.in_(self._task_ids), runs.c.status == "running",
                       runs.c.lease_host == owner.host, runs.c.lease_expires_at >= at,
                       runs.c.lease_owner != owner.id)
            ))
        orphans = [(row.id, row.lease_epoch) for row in leased
                   if not holder_alive(row, owner, at)][:limit]
        if not orphans:
            return []
        with self._journal.begin() as conn:
            # The epoch compare-and-set: a run another worker took first is not matched.
            return list(conn.execute(
                update(runs).where(tuple_(runs.c.id, runs.c.lease_epoch).in_(orphans))
                .values(lease_values(owner, at)).returning(*runs.c)
            ))


def _due(at: float) -> ColumnElement[bool]:
    return or_(
        runs.c.status == "pending",
        and_(runs.c.status.in_(("sleeping", "waiting")), runs.c.wake_at <= at),
        and_(runs.c.status == "running",
             or_(runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at < at)),
    )


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
