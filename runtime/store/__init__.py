"""The store: every SQL statement of the runtime, as named operations on the journal database.

Nothing else in the runtime imports SQLAlchemy. Callers hold a :class:`Journal` (an engine on
one database, its :class:`~.backend.Backend` capabilities and prepared statements) and call the
operations below; each is one transaction, or one write of a group commit (``*_write``), and
returns frozen records (``durablec.runtime.model``; a schedule's in schedules.py), never rows.
An operation that decides inside its transaction takes the decision as a function of what it
read (``claim_on_queue``'s ``choose``, ``fire_schedule``'s ``decide``), so that the store
imports nothing above it.

- database.py: opening a journal, schema creation and migration, the hot-path step insert and
  replay load, group commit (committer.py)
- schema.py: the tables; backend.py: SQLite and PostgreSQL; notify.py: PostgreSQL wake-ups
- runs.py, leases.py, events.py, timeline.py, traces.py, schedules.py, browse.py: the
  operations, by what they touch (browse, events, schedules and traces load on first use)
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.exc import SQLAlchemyError as DatabaseError  # any error of a database or driver

from durablec.runtime.store.backend import Backend
from durablec.runtime.store.committer import Committer, Write
from durablec.runtime.store.database import DEFAULT_URL, Journal, database_url, now
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
    fork_run,
    get_run,
    ids_starting,
    insert_run,
    insert_run_rows,
    insert_run_write,
    list_runs,
    reset_for_retry,
    run_counts,
    run_rows,
    status_counts,
    stored_result,
    suspend,
    update_held,
    wake,
)
from durablec.runtime.store.schema import SCHEMA_VERSION
from durablec.runtime.store.timeline import ArgsPreview, timeline

if TYPE_CHECKING:
    from durablec.runtime.store.browse import (
        browse_runs,
        count_by_status,
        dead_letter_loads,
        http_bodies,
        queue_loads,
        run_summary,
        step_args,
        task_ids,
        workers,
    )
    from durablec.runtime.store.events import Taken, deliver_event, take_event
    from durablec.runtime.store.schedules import (
        Decide,
        FiredSlot,
        Firing,
        Reconcile,
        ScheduleChanges,
        ScheduleRecord,
        ScheduleSource,
        ScheduleTimes,
        ScheduleWrite,
        active_schedules,
        declare_schedules,
        delete_schedule,
        find_schedule,
        fire_schedule,
        insert_schedule,
        list_schedules,
        take_slot,
        trigger_schedule,
        update_schedule,
    )
    from durablec.runtime.store.traces import (
        begin_execution,
        end_execution,
        keep_trace,
        load_trace,
    )

_LAZY: Final = {
    **dict.fromkeys(("browse_runs", "count_by_status", "dead_letter_loads", "http_bodies",
                     "queue_loads", "run_summary", "step_args", "task_ids", "workers"), "browse"),
    **dict.fromkeys(("Taken", "deliver_event", "take_event"), "events"),
    **dict.fromkeys(("Decide", "FiredSlot", "Firing", "Reconcile", "ScheduleChanges",
                     "ScheduleRecord", "ScheduleSource", "ScheduleTimes", "ScheduleWrite",
                     "active_schedules", "declare_schedules", "delete_schedule", "find_schedule",
                     "fire_schedule", "insert_schedule", "list_schedules", "take_slot",
                     "trigger_schedule", "update_schedule"), "schedules"),
    **dict.fromkeys(("begin_execution", "end_execution", "keep_trace", "load_trace"), "traces"),
}
"""The operations a process that only runs tasks does not need, by module: loaded on first use
(PEP 562), as ``durablec``'s own names are. Importing the store is on the path of every process
start, a resume's included (bench/run.py's recovery figure)."""


def __getattr__(name: str) -> Any:
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "DEFAULT_URL", "RELEASED", "SCHEMA_VERSION", "ArgsPreview", "Backend", "Choose", "Committer",
    "DatabaseError", "Decide", "FiredSlot", "Firing", "Journal", "Reconcile", "ScheduleChanges",
    "ScheduleRecord", "ScheduleSource", "ScheduleTimes", "ScheduleWrite", "Taken", "Write",
    "active_schedules", "begin_execution", "browse_runs", "cancel", "claim_due", "claim_on_queue",
    "count_by_status", "database_url", "dead_letter_loads", "declare_schedules", "delete_schedule",
    "deliver_event", "end_execution", "find_run", "find_schedule", "finish_write", "fire_schedule",
    "fork_run", "get_run", "http_bodies", "ids_starting", "insert_run",
    "insert_run_rows", "insert_run_write", "insert_schedule", "keep_trace", "leased_on_host",
    "list_runs", "list_schedules", "listen", "load_trace", "now", "queue_loads", "renew",
    "reset_for_retry", "run_counts", "run_rows", "run_summary", "status_counts", "step_args",
    "stored_result",
    "suspend", "take_event", "take_lease", "take_over", "take_slot", "task_ids", "timeline",
    "trigger_schedule", "update_held", "update_schedule", "wake", "workers",
]
