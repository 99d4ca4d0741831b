"""Lease renewal on a thread of its own, and stopping a run whose lease was lost.

One heartbeat per journal per process renews the leases of every run the process executes, in
one UPDATE every third of ``DURABLEC_LEASE_SECONDS``. Being a thread, it keeps renewing while a
step blocks the event loop. A run whose lease it finds taken over (or cancelled) is stopped at
once: its suspension is set and its asyncio task cancelled, so the step in flight does not run
on beside the new holder; its writes were fenced by the epoch anyway.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from dataclasses import dataclass
from typing import Final

from durablec.runtime.context import RunContext
from durablec.runtime.control import Suspend
from durablec.runtime.store import Journal
from durablec.runtime.lease import LEASE_SECONDS, renew_all

__all__ = ["Heartbeat", "heartbeat_for"]

_INTERVAL: Final = LEASE_SECONDS / 3


@dataclass(frozen=True, slots=True)
class _Held:
    context: RunContext
    owner_id: str
    loop: asyncio.AbstractEventLoop
    task: asyncio.Task[object] | None


class Heartbeat:
    """Renews the leases this process holds on one journal."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, context: RunContext, owner_id: str) -> None:
        """Keep renewing the lease of ``context``'s run (call from the task executing it)."""
        held = _Held(context, owner_id, asyncio.get_running_loop(), asyncio.current_task())
        with self._lock:
            self._held[context.run_id] = held
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="durablec-heartbeat",
                                                daemon=True)
                self._thread.start()

    def drop(self, context: RunContext) -> None:
        """Stop renewing: the run's execution ended (its last write released the lease)."""
        with self._lock:
            held = self._held.get(context.run_id)
            if held is not None and held.context is context:
                del self._held[context.run_id]

    def contexts(self, owner_id: str) -> list[RunContext]:
        """The runs ``owner_id`` executes now."""
        with self._lock:
            return [held.context for held in self._held.values() if held.owner_id == owner_id]

    def _beat(self) -> None:
        stop = threading.Event()
        while not stop.wait(_INTERVAL):
            with self._lock:
                if not self._held:
                    self._thread = None
                    return
                pairs = [(run_id, held.context.epoch) for run_id, held in self._held.items()]
            try:
                kept = renew_all(self._journal, pairs)
            except Exception as exc:  # noqa: BLE001 - the database may come back before expiry
                print(f"durablec: cannot renew leases on {self._journal.url}: {exc}; retrying",
                      file=sys.stderr)
                continue
            for run_id, epoch in pairs:
                if run_id not in kept:
                    with self._lock:
                        held = self._held.get(run_id)
                    if held is not None and held.context.epoch == epoch:
                        held.loop.call_soon_threadsafe(self._lost, held)

    def _lost(self, held: _Held) -> None:
        # On the run's event loop: its execution may have ended (and dropped) since the renewal.
        with self._lock:
            if self._held.get(held.context.run_id) is not held:
                return
        context = held.context
        context.suspend_now(Suspend(
            "running", f"run {context.run_id}: lease (epoch {context.epoch}) lost to another "
            "worker or cancelled; stopped without writing"))
        if held.task is not None:
            held.task.cancel()


_HEARTBEATS: dict[str, Heartbeat] = {}
_REGISTRY_LOCK: Final = threading.Lock()


def heartbeat_for(journal: Journal) -> Heartbeat:
    """The process's heartbeat for the journal's database."""
    with _REGISTRY_LOCK:
        beat = _HEARTBEATS.get(journal.url)
        if beat is None:
            beat = _HEARTBEATS[journal.url] = Heartbeat(journal)
        return beat
