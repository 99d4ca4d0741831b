"""Leases: which worker executes a run, until when, and the fencing token that proves it.

Taking a lease bumps ``lease_epoch``; every step a worker records is conditioned on its epoch
(see store/database.py), so a worker that lost its lease cannot write. A lease held by a process on
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

from durablec.runtime import store
from durablec.runtime.model import TERMINAL, LeaseInfo, RunRecord
from durablec.runtime.store import Journal, now

__all__ = ["LEASE_SECONDS", "Owner", "acquire", "holder_alive", "holding", "release_values",
           "renew_all"]

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


def holder_alive(row: RunRecord | LeaseInfo, owner: Owner, at: float) -> bool:
    """Whether another live executor holds the run's lease."""
    if row.lease_owner is None or row.lease_owner == owner.id:
        return False
    if row.lease_expires_at is None or row.lease_expires_at <= at:
        return False
    if row.lease_host == owner.host and row.lease_pid is not None and row.lease_pid != owner.pid:
        return not _pid_gone(row.lease_pid)
    return True


def acquire(
    journal: Journal, run_id: str, owner: Owner, *, wait: bool
) -> tuple[RunRecord, int] | None:
    """Take the run's lease; returns (run row, epoch), or (row, -1) for a finished run.

    Without ``wait`` returns None when another live executor holds the lease.
    """
    told = False
    while True:
        row = store.get_run(journal, run_id)
        if row.status in TERMINAL:
            return row, -1
        at = now()
        if holder_alive(row, owner, at):
            assert row.lease_expires_at is not None  # holder_alive: an unexpired lease
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
        if store.take_lease(journal, run_id, row.lease_epoch, holding(owner, at), at):
            return row, row.lease_epoch + 1


def renew_all(journal: Journal, leases: list[tuple[str, int]]) -> set[str]:
    """Extend the leases of (run id, epoch) pairs in one statement; returns the run ids still held
    (the others were taken over, cancelled, or released by their own last write)."""
    return store.renew(journal, leases, now() + LEASE_SECONDS, idle_timeout=LEASE_SECONDS)


def holding(owner: Owner, at: float) -> dict[str, Any]:
    """The columns of a run that ``owner`` executes, leased from ``at``."""
    return {
        "lease_owner": owner.id, "lease_host": owner.host, "lease_pid": owner.pid,
        "lease_expires_at": at + LEASE_SECONDS, "status": "running",
    }


def release_values() -> dict[str, Any]:
    """The lease columns of a run that its executor hands back."""
    return dict(store.RELEASED)
