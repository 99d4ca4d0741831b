"""The journal as the engine sees it: the names the checkpoint path uses, from the store.

The engine records and replays steps through these alone: a :class:`Journal`'s
``insert_step(batch, values)`` (a group commit's write; ``values`` keyed by ``STEP_COLUMNS``),
``load_steps(conn, run_id)`` (rows in ``REPLAY_COLUMNS`` order), ``prepare`` and ``writing()``
(the group :class:`Committer`); ``step_with_logs`` (a step's write that carries the task's log rows) and
``logged_counts`` (the log rows a resume's replay writes again). Keeping them in one place lets
the store change beneath the engine.
"""

from durablec.runtime.store.committer import Committer
from durablec.runtime.store.database import Journal, now
from durablec.runtime.store.logs import logged_counts, step_with_logs
from durablec.runtime.store.schema import REPLAY_COLUMNS, STEP_COLUMNS

__all__ = ["REPLAY_COLUMNS", "STEP_COLUMNS", "Committer", "Journal", "logged_counts", "now",
           "step_with_logs"]
