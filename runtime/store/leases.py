"""Store operations on leases: take one, renew many, and claim due runs for a worker.

A lease is taken by a compare-and-set on ``lease_epoch`` that also bumps it, so of two
executors taking the same run at once one matches nothing; what makes a holder (its columns)
and who may take a lease is decided in lease.py and claim.py, not here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_, update

from durablec.runtime.model import LeaseInfo, RunRecord
from durablec.runtime.store.database import Journal
from durablec.runtime.store.runs import record
from durablec.runtime.store.schema import held, runs

__all__ = ["Choose", "claim_due", "claim_on_queue", "leased_on_host", "renew", "take_lease",
           "take_over"]

Choose = Callable[[Counter[str | None], Iterable[tuple[str, str | None]]], list[str]]
"""Picks the run ids to claim on a limited queue, given the runs it executes now per
concurrency key and the due candidates (id, key), oldest first."""


def _taking(holder: Mapping[str, Any], at: float) -> dict[str, Any]:
    """The columns a claim or takeover sets: ``holder``'s columns, under a new epoch."""
    return {**holder, "lease_epoch": runs.c.lease_epoch + 1, "updated_at": at}


def take_lease(
    journal: Journal, run_id: str, epoch: int, holder: Mapping[str, Any], at: float
) -> bool:
    """Take the run's lease if its epoch is still ``epoch`` (then it becomes ``epoch + 1``)."""
    with journal.begin() as conn:
        return conn.execute(
            update(runs).where(held(run_id, epoch)).values(_taking(holder, at))
        ).rowcount == 1


def renew(journal: Journal, leases: list[tuple[str, int]], until: float,
          idle_timeout: float) -> set[str]:
    """Extend the leases of (run id, epoch) pairs to ``until`` in one statement; returns the run
    ids still held (the others were taken over, cancelled, or released by their last write)."""
    with journal.begin() as conn:
        journal.backend.bound_idle_transaction(conn, idle_timeout)
        kept = conn.execute(
            update(runs)
            .where(tuple_(runs.c.id, runs.c.lease_epoch).in_(leases), runs.c.status == "running")
            .values(lease_expires_at=until)
            .returning(runs.c.id)
        )
        return set(kept.scalars())


def _due(at: float) -> ColumnElement[bool]:
    """Pending, sleeping, retrying or waiting past ``wake_at``, or running under an expired (or
    no) lease."""
    return or_(
        runs.c.status == "pending",
        and_(runs.c.status.in_(("sleeping", "retrying", "waiting")), runs.c.wake_at <= at),
        and_(runs.c.status == "running",
             or_(runs.c.lease_expires_at.is_(None), runs.c.lease_expires_at < at)),
    )


def claim_due(
    journal: Journal, task_ids: tuple[str, ...], limit: int, holder: Mapping[str, Any],
    at: float, idle_timeout: float,
) -> list[RunRecord]:
    """Lease up to ``limit`` due runs of these tasks, oldest first, in one statement. Rows
    another worker is claiming are skipped, not waited for (SQLite serializes writers)."""
    pick = (
        select(runs.c.id)
        .where(runs.c.task_id.in_(task_ids), _due(at))
        .order_by(runs.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with journal.begin() as conn:
        journal.backend.bound_idle_transaction(conn, idle_timeout)
        return [record(row) for row in conn.execute(
            update(runs).where(runs.c.id.in_(pick)).values(_taking(holder, at))
            .returning(*runs.c)
        )]


def claim_on_queue(
    journal: Journal, task_ids: tuple[str, ...], queue: str, limit: int, choose: Choose,
    holder: Mapping[str, Any], at: float, idle_timeout: float,
) -> list[RunRecord]:
    """Lease the due runs of a limited queue that ``choose`` picks, with the queue locked
    against other claims from counting to leasing, so its limits hold across workers."""
    with journal.begin() as conn:
        journal.backend.bound_idle_transaction(conn, idle_timeout)
        journal.backend.lock_queue(conn, queue)
        busy: Counter[str | None] = Counter({
            key: count for key, count in conn.execute(
                select(runs.c.concurrency_key, func.count())
                .where(runs.c.queue == queue, runs.c.status == "running",
                       runs.c.lease_expires_at >= at)
                .group_by(runs.c.concurrency_key)
            )
        })
        # Past per-key limits some candidates are skipped: look further than ``limit``.
        candidates = conn.execute(
            select(runs.c.id, runs.c.concurrency_key)
            .where(runs.c.task_id.in_(task_ids), _due(at))
            .order_by(runs.c.created_at)
            .limit(limit * 4 + 16)
            .with_for_update(skip_locked=True)
        )
        chosen = choose(busy, ((row.id, row.concurrency_key) for row in candidates))
        if not chosen:
            return []
        return [record(row) for row in conn.execute(
            update(runs).where(runs.c.id.in_(chosen)).values(_taking(holder, at))
            .returning(*runs.c)
        )]


def leased_on_host(
    journal: Journal, task_ids: tuple[str, ...], host: str, owner_id: str, at: float
) -> list[LeaseInfo]:
    """The leases of running runs of these tasks held unexpired by another owner on ``host``."""
    with journal.begin() as conn:
        return [LeaseInfo(*row) for row in conn.execute(
            select(runs.c.id, runs.c.lease_owner, runs.c.lease_host, runs.c.lease_pid,
                   runs.c.lease_expires_at, runs.c.lease_epoch).where(
                runs.c.task_id.in_(task_ids), runs.c.status == "running",
                runs.c.lease_host == host, runs.c.lease_expires_at >= at,
                runs.c.lease_owner != owner_id,
            )
        )]


def take_over(
    journal: Journal, leases: list[tuple[str, int]], holder: Mapping[str, Any], at: float
) -> list[RunRecord]:
    """Take the leases of (run id, epoch) pairs; a run another worker took first (its epoch
    moved on) is not matched."""
    with journal.begin() as conn:
        return [record(row) for row in conn.execute(
            update(runs).where(tuple_(runs.c.id, runs.c.lease_epoch).in_(leases))
            .values(_taking(holder, at)).returning(*runs.c)
        )]
