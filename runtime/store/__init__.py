"""The store: every SQL statement of the runtime, as named operations on the journal database.

Nothing else in the runtime imports SQLAlchemy. Callers hold a :class:`Journal` (an engine on
one database, its :class:`~.backend.Backend` capabilities and prepared statements) and call the
operations below; each is one transaction, or one write of a group commit (``*_write``), and
returns frozen records (``durablec.runtime.model``), never rows.

- database.py: opening a journal, schema creation and migration, the hot-path step insert and
  replay load, group commit (committer.py)
- schema.py: the tables; backend.py: SQLite and PostgreSQL; notify.py: PostgreSQL wake-ups
- runs.py, leases.py, events.py, timeline.py: the operations, by what they touch
"""

from sqlalchemy.exc import SQLAlchemyError as DatabaseError  # any error of a database or driver

from durablec.runtime.store.backend import Backend
from durablec.runtime.store.browse import (
    browse_runs,
    count_by_status,
    http_bodies,
    queue_loads,
    run_summary,
    step_args,
    task_ids,
    workers,
)
from durablec.runtime.store.committer import Committer, Write
from durablec.runtime.store.database import DEFAULT_URL, Journal, database_url, now
from durablec.runtime.store.events import Taken, deliver_event, take_event
from durablec.runtime.store.leases import (
    Choose,
    claim_due,
    claim_on_queue,
    leased_on_host,
    renew,
    take_lease,
    take_over,
)
from durablec.runtime.store.notify import listen
from durablec.runtime.store.runs import (
    RELEASED,
    cancel,
    find_run,
    finish_write,
    get_run,
    insert_run,
    insert_run_write,
    list_runs,
    reset_for_retry,
    run_rows,
    suspend,
    update_held,
    wake,
)
from durablec.runtime.store.schema import SCHEMA_VERSION
from durablec.runtime.store.timeline import ArgsPreview, timeline

__all__ = [
    "browse_runs", "count_by_status", "http_bodies", "queue_loads", "run_summary", "step_args", "task_ids", "workers",
    "DEFAULT_URL", "RELEASED", "SCHEMA_VERSION", "ArgsPreview", "Backend", "Choose", "Committer",
    "DatabaseError", "Journal", "Taken", "Write", "cancel", "claim_due", "claim_on_queue",
    "database_url", "deliver_event", "find_run", "finish_write", "get_run", "insert_run",
    "insert_run_write", "leased_on_host", "list_runs", "listen", "now", "renew",
    "reset_for_retry", "run_rows", "suspend", "take_event", "take_lease", "take_over", "timeline",
    "update_held", "wake",
]
