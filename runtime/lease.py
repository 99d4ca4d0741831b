"""Leases: which worker executes a run, until when, and the fencing token that proves it.

Taking a lease bumps ``lease_epoch``; every step a worker records is conditioned on its epoch
(see journal.py), so a worker that lost its lease cannot write. A lease held by a process on
this machine that no longer exists is taken over at once; any other is waited out until it
expires, with a note on stderr.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select, tuple_, update

from durablec.errors import RunNotFoundError
from durablec.runtime.journal import TERMINAL, Journal, held, now, runs

__all__ = [
    "LEASE_SECONDS", "Owner", "acquire", "holding", "lease_values", "release_values", "renew_all",
]

LEASE_SECONDS: Final = float(os.environ.get("DURABLEC_LEASE_SECONDS", "15"))


@dataclass(frozen=True, slots=True)
class Owner:
    """Who holds a lease: one executor in one process on one host."""

    id: str
    host: str
    pid: int

    @classmethod
    def here(cls) -> Owner:
        host = socket.gethostname()
        pid = os.getpid()
        return cls(f"{host}:{pid}:{uuid.uuid4().hex[:8]}", host, pid)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    # A killed child that its parent has not reaped yet is a zombie: gone for our purpose.
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def holder_alive(row: Any, owner: Owner, at: float) -> bool:
    """Whether another live executor holds the run's lease."""
    if row.lease_owner is None or row.lease_owner == owner.id:
        return False
    if row.lease_expires_at is None or row.lease_expires_at <= at:
        return False
    if row.lease_host == owner.host and row.lease_pid is not None and row.lease_pid != owner.pid:
        return not _pid_gone(row.lease_pid)
    return True


def acquire(journal: Journal, run_id: str, owner: Owner, *, wait: bool) -> tuple[Any, int] | None:
    """Take the run's lease; returns (run row, epoch), or (row, -1) for a finished run.

    Without ``wait`` returns None when another live executor holds the lease.
    """
    told = False
    while True:
        with journal.begin() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r} in the journal at {journal.url}")
        if row.status in TERMINAL:
            return row, -1
        at = now()
        if holder_alive(row, owner, at):
            if not wait:
                return None
            if not told:
                print(
                    f"durablec: run {run_id} is leased by {row.lease_owner} until "
                    f"{time.strftime('%H:%M:%S', time.localtime(row.lease_expires_at))}; "
                    "waiting for it to finish or for the lease to expire",
                    file=sys.stderr,
                )
                told = True
            time.sleep(min(0.5, max(0.05, row.lease_expires_at - at)))
            continue
        epoch = row.lease_epoch + 1
        with journal.begin() as conn:
            taken = conn.execute(
                update(runs)
                .where(held(run_id, row.lease_epoch))
                .values(lease_values(owner, at))
            ).rowcount
        if taken == 1:
            return row, epoch


def renew_all(journal: Journal, leases: list[tuple[str, int]]) -> set[str]:
    """Extend the leases of (run id, epoch) pairs in one statement; returns the run ids still held
    (the others were taken over, cancelled, or released by their own last write)."""
    with journal.begin() as conn:
        bound_idle_transaction(journal, conn)
        kept = conn.execute(
            update(runs)
            .where(tuple_(runs.c.id, runs.c.lease_epoch).in_(leases), runs.c.status == "running")
            .values(lease_expires_at=now() + LEASE_SECONDS)
            .returning(runs.c.id)
        )
        return set(kept.scalars())


def holding(owner: Owner, at: float) -> dict[str, Any]:
    """The columns of a run that ``owner`` executes, leased from ``at``."""
    return {
        "lease_owner": owner.id, "lease_host": owner.host, "lease_pid": owner.pid,
        "lease_expires_at": at + LEASE_SECONDS, "status": "running",
    }


def lease_values(owner: Owner, at: float) -> dict[str, Any]:
    """The columns a claim or takeover sets: this owner holds the run, under a new epoch."""
    return {**holding(owner, at), "lease_epoch": runs.c.lease_epoch + 1, "updated_at": at}


def bound_idle_transaction(journal: Journal, conn: Any) -> None:
    """On PostgreSQL, end this transaction if its process stalls in it (SIGSTOP, a debugger):
    the row locks it holds would otherwise hide those runs from every other worker."""
    if not journal.is_sqlite:
        conn.exec_driver_sql(
            f"SET LOCAL idle_in_transaction_session_timeout = {int(LEASE_SECONDS * 1000)}"
        )


def release_values() -> dict[str, Any]:
    return {"lease_owner": None, "lease_host": None, "lease_pid": None, "lease_expires_at": None}
