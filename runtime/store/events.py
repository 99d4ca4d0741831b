"""Store operations on events: deliver one to a run, and take one for a waiting step."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import exists, insert, select, update

from durablec.runtime.model import TERMINAL
from durablec.runtime.store.database import Journal, now
from durablec.runtime.store.runs import missing, wake_in
from durablec.runtime.store.schema import events, held, runs

__all__ = ["Taken", "deliver_event", "take_event"]

Taken = tuple[Literal["taken", "none", "fenced"], bytes | None]
"""What :func:`take_event` found: the event's payload, nothing yet, or a lease lost."""


def deliver_event(
    journal: Journal, run_id: str, name: str, payload: bytes, payload_repr: str
) -> str:
    """Keep event ``name`` for the run and wake the run if it waits for it, unless the run has
    finished. Returns the run's status (a finished one: nothing was delivered)."""
    with journal.begin() as conn:
        status = conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar_one_or_none()
        if status is None:
            raise missing(journal, run_id)
        if status in TERMINAL:
            return str(status)
        conn.execute(insert(events).values(
            run_id=run_id, name=name, payload=payload, payload_repr=payload_repr,
            created_at=now(),
        ))
        wake_in(conn, run_id, name)
        return str(status)


def take_event(journal: Journal, run_id: str, epoch: int, name: str, key: str) -> Taken:
    """Claim the oldest unclaimed event ``name`` for step ``key`` (or the one it already
    claimed, on replay). The claim is fenced: a run taken over leaves the event to its new
    holder."""
    with journal.begin() as conn:
        row = conn.execute(
            select(events.c.id, events.c.payload, events.c.consumed_key)
            .where(
                events.c.run_id == run_id, events.c.name == name,
                events.c.consumed_key.is_(None) | (events.c.consumed_key == key),
            )
            .order_by(events.c.consumed_key.is_(None), events.c.id)
            .limit(1)
        ).one_or_none()
        if row is None:
            return "none", None
        if row.consumed_key is None:
            taken = conn.execute(
                update(events)
                .where(events.c.id == row.id, events.c.consumed_key.is_(None),
                       exists().where(held(run_id, epoch)))
                .values(consumed_key=key)
            ).rowcount
            if taken != 1:
                return "fenced", None
    return "taken", row.payload
