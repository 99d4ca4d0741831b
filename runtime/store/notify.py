"""Waking idle workers at once on PostgreSQL: a trigger NOTIFYs, a worker LISTENs.

Every path that makes a run pending (trigger, send-event, a child waking its parent, retry, a
worker releasing runs at shutdown, or a person's SQL) goes through the row, so the trigger on
``durablec_runs`` catches them all. A worker that lost its listening connection (or runs on
SQLite) finds due runs by polling; sleeping runs and expired leases are always found by polling.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # database.py imports this module (through backend.py) for WAKEUP_DDL
    from durablec.runtime.store.database import Journal

__all__ = ["CHANNEL", "WAKEUP_DDL", "listen"]

CHANNEL: Final = "durablec_due"

# The payload is the task id: notifications with equal payloads in one transaction are folded
# into one, so a batch of triggers wakes each worker once.
WAKEUP_DDL: Final = (
    f"""CREATE OR REPLACE FUNCTION durablec_notify_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'pending' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'pending') THEN
        PERFORM pg_notify('{CHANNEL}', NEW.task_id);
    END IF;
    RETURN NULL;
END $$""",
    """CREATE OR REPLACE TRIGGER durablec_runs_due AFTER INSERT OR UPDATE OF status
ON durablec_runs FOR EACH ROW EXECUTE FUNCTION durablec_notify_due()""",
)

_RETRY_SECONDS: Final = 1.0


async def listen(journal: Journal, wake: Callable[[], None]) -> None:
    """LISTEN on the journal's PostgreSQL database and call ``wake`` for every notification,
    reconnecting after a dropped connection; runs until cancelled."""
    import psycopg

    # The engine's URL keeps the password that journal.url (for messages) hides.
    conninfo = journal.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    told = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if told:
                    print("durablec worker: listening for new runs again", file=sys.stderr)
                    told = False
                wake()  # whatever became due while nobody listened
                async for _ in conn.notifies():
                    wake()
        except (psycopg.Error, OSError) as exc:
            if not told:
                print(
                    f"durablec worker: lost the LISTEN connection to the journal ({exc}); "
                    f"polling for due runs and reconnecting every {_RETRY_SECONDS:g} s",
                    file=sys.stderr,
                )
                told = True
        await asyncio.sleep(_RETRY_SECONDS)
